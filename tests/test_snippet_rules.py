"""The promises that keep every code block on the site executed and verified."""

import pytest
from pytest_codeblocks.main import extract_from_file

from tests.support import fences
from tests.support.paths import DOCS, SNIPPETS


def report(problems: list[str]) -> str:
    return "\n".join(["", *problems])


def test_docs_and_snippets_are_not_empty():
    assert fences.markdown_files(DOCS), "docs/ has no pages"
    assert fences.runnable_fence_count(SNIPPETS) > 0, "snippets/ has no runnable code blocks"


def test_every_docs_code_block_comes_from_snippets():
    assert not (problems := fences.inline_code_blocks(DOCS)), report(problems)


def test_every_include_points_to_an_existing_snippet():
    assert not (problems := fences.broken_includes(DOCS, SNIPPETS)), report(problems)


def test_every_snippet_lives_in_the_folder_of_its_page():
    assert not (problems := fences.misplaced_snippets(DOCS, SNIPPETS)), report(problems)


def test_every_snippet_is_included_by_a_page():
    assert not (problems := fences.orphan_snippets(DOCS, SNIPPETS)), report(problems)


def test_every_snippet_fence_is_run_or_is_expected_output():
    assert not (problems := fences.unrun_fences(SNIPPETS)), report(problems)


def test_every_snippet_that_draws_random_numbers_seeds_them():
    assert not (problems := fences.unseeded_snippets(SNIPPETS)), report(problems)


def test_every_snippet_line_fits_the_code_column():
    assert not (problems := fences.long_lines(SNIPPETS)), report(problems)


def test_no_snippet_prints_an_unrounded_float():
    assert not (problems := fences.unrounded_outputs(SNIPPETS)), report(problems)


def test_every_number_the_prose_restates_is_printed_by_its_snippet():
    assert not (problems := fences.stale_prose_numbers(DOCS, SNIPPETS)), report(problems)


def test_every_page_opens_with_its_answer():
    assert not (problems := fences.pages_without_an_answer(DOCS)), report(problems)


def test_every_python_snippet_shows_its_checked_output():
    problems = fences.python_blocks_without_output(SNIPPETS)
    assert not problems, report(problems)


def test_no_snippet_hides_code_behind_a_main_guard():
    problems = fences.main_guards(SNIPPETS)
    assert not problems, report(problems)


@pytest.mark.parametrize(
    "snippet", fences.markdown_files(SNIPPETS), ids=lambda p: p.relative_to(SNIPPETS).as_posix()
)
def test_pytest_codeblocks_collects_every_runnable_fence(snippet):
    collected = [block for block in extract_from_file(snippet) if block.syntax in fences.RUNNABLE]
    ours = [
        fence
        for fence in fences.read_fences(snippet)
        if fence.is_runnable and not fence.is_expected_output
    ]
    assert len(collected) == len(ours), (
        f"{snippet}: pytest-codeblocks would run {len(collected)} blocks here but the file has "
        f"{len(ours)} runnable fences; check the fences' info strings and markers."
    )
