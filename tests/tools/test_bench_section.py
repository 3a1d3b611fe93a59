"""`anxin bench all` rewrites only its own section of BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

from tools.bench import SECTION, planned_runs, write_section


def test_section_is_replaced_and_others_kept(tmp_path: Path) -> None:
    path = tmp_path / "BENCHMARKS.md"
    path.write_text("# Benchmarks\n\n## Detection\n\nfigures\n", encoding="utf-8")
    write_section(path, f"{SECTION}\n\nfirst\n")
    write_section(path, f"{SECTION}\n\nsecond\n")
    text = path.read_text(encoding="utf-8")
    assert "## Detection\n\nfigures" in text
    assert text.count(SECTION) == 1
    assert "second" in text and "first" not in text


def test_dataset_benches_are_skipped_without_data(tmp_path: Path) -> None:
    runs, skipped = planned_runs(tmp_path, quick=True)
    assert [r.argv[0] for r in runs] == [
        "gateway",
        "gateway",
        "intake",
        "overload",
        "sim",
        "sim-falls",
        "homes",
    ]
    assert "--ladder" in runs[1].argv
    assert len(skipped) == 5  # SisFall, the three FallAllD placements, vitals


def test_each_placement_model_runs_on_its_fallalld_data(tmp_path: Path) -> None:
    for folder in ("waist", "neck", "wrist"):
        (tmp_path / "falls" / f"fallalld-{folder}-50hz").mkdir(parents=True)
        (tmp_path / "falls" / f"fallalld-{folder}-50hz" / "manifest.csv").write_text("trial\n")
    runs, _ = planned_runs(tmp_path, quick=True)
    placements = [r.argv[r.argv.index("--placement") + 1] for r in runs if "--placement" in r.argv]
    assert placements == ["waist", "pendant", "wrist"]
