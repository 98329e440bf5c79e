"""The snippet, prose and page rules of CONTRIBUTING.md, on the real docs/ and snippets/.

A fence pytest-codeblocks would skip fails as its snippet file's own item
(tests/support/guards.py), even when that file is run alone."""

import pytest

from tests.support import fences
from tests.support.paths import DOCS, SNIPPETS


@pytest.mark.parametrize("rule", fences.RULES, ids=lambda rule: rule.__name__)
def test_the_site_follows_the_rule(rule):
    assert not (problems := rule(DOCS, SNIPPETS)), "\n".join(["", *problems])
