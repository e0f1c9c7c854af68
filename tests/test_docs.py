"""The docs tested against the program (as sqlite-utils' tests/test_docs.py does).

Every `kb` command must have a section whose heading names it (`## kb search`) in README.md or a
docs/*.md page, and every option of that command must appear in one of its sections — so a command or
flag added without a word of documentation fails here, naming what is missing and where to write it.
The parser is walked from `kb.cli.build_parser()`, so commands added later are held to the same rule.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from conftest import ROOT

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 250


def sections(text: str) -> Iterator[tuple[str, str]]:
    """(heading, heading + body) for each Markdown section; `#` lines inside fenced code are not headings."""
    heading, body, fenced = "", [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,6} ", line):
            yield heading, "\n".join(body)
            heading, body = line, []
        body.append(line)
    yield heading, "\n".join(body)


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ("kb",)):
    """(command path, its parser) for every subcommand, nested ones too (aliases once)."""
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield (*path, name), sub
                    yield from commands(sub, (*path, name))


def options(parser: argparse.ArgumentParser) -> list[str]:
    """The options a user types: the long spelling of each (else the short one); --help left out."""
    out = []
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        longs = [s for s in action.option_strings if s.startswith("--")]
        out.append((longs or action.option_strings)[0])
    return out


def _names(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) is not None


def undocumented(parser: argparse.ArgumentParser, pages: dict[str, str]) -> list[str]:
    """What the docs do not say: one line per missing command or option, saying where it belongs."""
    every = [s for text in pages.values() for s in sections(text)]
    everything = "\n".join(pages.values())
    missing = [f"kb {opt}: not mentioned in README.md or docs/*.md" for opt in options(parser)
               if not _names(everything, opt)]
    for path, sub in commands(parser):
        # A section about `kb a b` counts for it, and so does one about its parent `kb a`.
        names = [" ".join(path[:n]) for n in range(len(path), 1, -1)]
        own = [body for heading, body in every if any(_names(heading, name) for name in names)]
        command = " ".join(path)
        if not own:
            missing.append(f"{command}: no section whose heading names `{command}` in README.md or docs/*.md "
                           f"(add `## {command}` to docs/cli.md)")
            continue
        for opt in options(sub):
            if not any(_names(body, opt) for body in own):
                missing.append(f"{command} {opt}: not in a section about `{command}` (say what it does in "
                               f"docs/cli.md's `## {command}`, or in another page's section headed with `{command}`)")
    return missing


def _pages() -> dict[str, str]:
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in PAGES}


def test_every_command_and_option_is_documented():
    from kb.cli import build_parser

    missing = undocumented(build_parser(), _pages())
    assert not missing, "undocumented:\n" + "\n".join(missing)


def test_the_check_names_an_undocumented_command_and_option():
    """The rule can fail: a new flag on `kb search` and a new command, both undocumented, are named."""
    from kb.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["search"].add_argument("--frobnicate", action="store_true")
    new = sub.add_parser("frob")
    new.add_argument("--wibble")
    missing = undocumented(parser, _pages())
    assert any(m.startswith("kb search --frobnicate: not in a section about `kb search`") for m in missing), missing
    assert any(m.startswith("kb frob: no section whose heading names `kb frob`") for m in missing), missing
    # documented in a section about it, the command passes
    pages = {**_pages(), "docs/extra.md": "# Extra\n\n## kb frob\n\n`kb frob [--wibble W]`\n\n"
                                          "## kb search, more\n\n`--frobnicate` frobnicates.\n"}
    assert undocumented(parser, pages) == []


def test_a_heading_inside_fenced_code_is_not_a_section():
    text = "# Page\n\n```\n# kb search --k 3\n```\n\n## kb ask\n\n`--k`\n"
    assert [h for h, _ in sections(text)] == ["", "# Page", "## kb ask"]


def test_readme_is_a_guide_and_its_links_resolve():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; the reference belongs in docs/"
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, or an anchor on the same page
            if not (page.parent / target.split("#")[0]).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_ci_runs_exactly_the_readme_test_command():
    readme = README.read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in readme
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert "bash scripts/test.sh" in ci, ci
