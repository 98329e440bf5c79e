"""The rules of fences.RULES hold on the real docs/ and snippets/ (no silent skip: guards.py)."""

import pytest

from tests.support import fences
from tests.support.paths import DOCS, SNIPPETS


@pytest.mark.parametrize("rule", fences.RULES, ids=lambda rule: rule.__name__)
def test_the_site_follows_the_rule(rule):
    assert not (problems := list(rule(DOCS, SNIPPETS))), "\n".join(["", *problems])
