import subprocess
import sys

from skddpm.__main__ import demo


def test_demo_writes_pictures_and_prints_quality(tmp_path, capsys):
    demo(tmp_path / "out", n_samples=400)
    printed = capsys.readouterr().out
    assert (tmp_path / "out" / "samples.png").stat().st_size > 1000
    assert (tmp_path / "out" / "loss.png").stat().st_size > 1000
    assert "classifier two-sample test accuracy" in printed
    assert "two real samples give" in printed


def test_cli_help_and_unknown_command():
    ok = subprocess.run([sys.executable, "-m", "skddpm", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "demo" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "skddpm", "frobnicate"], capture_output=True, text=True
    )
    assert bad.returncode != 0 and "invalid choice" in bad.stderr
