"""The recorded-output format: parsing, normalisation, masks, rewriting (tests/docs/recorded.py)."""

from __future__ import annotations

from pathlib import Path

from tests.docs.recorded import (
    MASKS,
    Command,
    Example,
    blocks,
    canonical,
    masked,
    problems,
    recorded,
    rewritten,
    run,
    sandbox,
)

PAGE = """# A page

```console
$ echo one
one
$ printf 'a\\nb\\n' \\
    | sort -r
b
a
```

<!-- not executed: it takes an hour -->
```
$ sleep 3600
```

```python
print(6 * 7)
```

```output
42
```

```toml
x = 1
```
""".splitlines()


def test_parse_commands_outputs_and_examples():
    items = recorded(PAGE)
    assert [type(i) for i in items] == [Command, Command, Example]
    assert items[0].shell == "echo one" and items[0].expected == ["one"]
    assert items[1].shell == "printf 'a\\nb\\n'     | sort -r" and items[1].expected == ["b", "a"]
    assert items[2].expected == ["42"]
    assert [b.marker for b in blocks(PAGE)] == [None, "it takes an hour", None, None, None]


def test_run_compares_and_status_line(tmp_path):
    env = sandbox(tmp_path)
    assert (tmp_path / "programs" / "mlp.toml").is_file()
    first, second, example = recorded(PAGE)
    assert run(first, tmp_path, env) == ["one"]
    assert run(second, tmp_path, env) == ["b", "a"]
    assert run(example, tmp_path, env) == ["42"]
    failing = recorded(["```console", "$ echo oops >&2; exit 3", "```"])[0]
    assert run(failing, tmp_path, env) == ["oops", "[exit status 3]"]


def test_canonical_output_is_what_a_terminal_shows(tmp_path):
    raw = f"epoch 1:  50%|#####\repoch 1: 100%|#####\r          \repoch   1  test acc 9.38%  \r\n{tmp_path}/runs/x\n\n"
    assert canonical(raw, tmp_path) == ["epoch   1  test acc 9.38%", "runs/x"]


def test_masks_forgive_wall_times_only():
    line = "    writes   512 weights programmed (0.216 per weight); ADC inputs over range 0.00%; wall 0.1 s"
    assert masked([line]) == masked([line.replace("wall 0.1 s", "wall 37.4 s")])
    assert masked([line]) != masked([line.replace("512 weights", "513 weights")])
    progress = "[1/6] point 0 (seed=0) fb6f6193dcba: ok  test_accuracy 0.105114  energy_per_image_pj 106415  (1.9 s)"
    assert masked([progress]) == masked([progress.replace("(1.9 s)", "(0.3 s)")])
    assert masked([progress]) != masked([progress.replace("106415", "106416")])
    for simulated in ("latency  1.118 ms/image, 4.436 s total (simulated)", "time          55.6 us at 100 MHz",
                      "energy   5517.4 nJ/image"):
        assert masked([simulated]) == [simulated], "a simulated number is never masked"
    assert len({m.name for m in MASKS}) == len(MASKS)


def test_rewrite_replaces_outputs_only():
    items = recorded(PAGE)
    same = rewritten(PAGE, [(i, i.expected) for i in items])
    assert same == PAGE
    new = rewritten(PAGE, [(items[0], ["uno", "[exit status 1]"]), (items[1], items[1].expected),
                           (items[2], ["41", "and more"])])
    assert new[3:6] == ["$ echo one", "uno", "[exit status 1]"]
    assert new[6:8] == PAGE[5:7]  # the continued command as written
    assert "41" in new and "and more" in new and new[-3:] == PAGE[-3:]
    assert recorded(new)[2].expected == ["41", "and more"]


def test_unmarked_commands_are_a_problem(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```\n$ socsim presets\nideal\n```\n\n```output\n1\n```\n\n```console\nno command\n```\n")
    import tests.docs.recorded as R
    root = R.ROOT
    try:
        R.ROOT = tmp_path
        found = problems(page)
    finally:
        R.ROOT = root
    assert len(found) == 3
    assert "page.md:1: a block with '$ ' commands is neither" in found[0]
    assert "an 'output' block must follow a python block" in found[1]
    assert "a console block must start with a '$ ' command" in found[2]


def test_pages_exist():
    from tests.docs.recorded import PAGES
    assert Path(PAGES[0]).name == "README.md" and any(p.name == "tutorial.md" for p in PAGES)
