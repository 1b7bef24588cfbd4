"""README.zh-CN.md stays a translation of README.md: the same sections, the same commands
and code, the same links; and both lead a newcomer to the learning path.

(When README.md gains a section or a link, this test asks for the Chinese one to follow.)
"""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
README_ZH = (REPO / "README.zh-CN.md").read_text(encoding="utf-8")

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _commands(text):
    """The indented command lines (4 spaces) outside fenced code blocks."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return [line.strip() for line in text.splitlines() if line.startswith("    ") and line.strip()]


def _code(text):
    """Fenced code blocks with the comments removed (comments may be translated)."""
    blocks = re.findall(r"```\w*\n(.*?)```", text, flags=re.S)
    return [re.sub(r"\s*#.*", "", block).strip() for block in blocks]


def test_the_readmes_link_each_other_and_the_learning_path():
    assert "(README.zh-CN.md)" in README
    assert "(README.md)" in README_ZH
    for text in (README, README_ZH):
        assert "(docs/tutorials/README.md)" in text


def test_same_sections():
    assert README.count("\n## ") == README_ZH.count("\n## ")


def test_same_commands_word_for_word():
    assert _commands(README) == _commands(README_ZH)
    assert any(c.endswith("python -m tinygrad_edu train") for c in _commands(README))
    assert any(c.endswith("python -m pytest") for c in _commands(README))


def test_same_code():
    assert _code(README) == _code(README_ZH)


def test_same_links():
    english = {t for t in _LINK.findall(README) if t != "README.zh-CN.md"}
    chinese = {t for t in _LINK.findall(README_ZH) if t != "README.md"}
    assert english == chinese, f"only in README.md: {english - chinese}; only in README.zh-CN.md: {chinese - english}"
