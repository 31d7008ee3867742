"""bpstudio-cli: info and export, and one clean line on stderr for every user mistake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from bpstudio import save
from bpstudio.cli import build_parser, main
from bpstudio.core.examples import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
XOR = str(ROOT / "resources" / "examples" / "xor.bpg")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_info_lists_nodes_parameters_shapes_and_training(capsys):
    code, out, err = run(capsys, "info", XOR)
    assert code == 0 and err == ""
    assert "13 nodes, 12 edges" in out
    assert "hidden.W" in out and "(2, 4)" in out and "(N, 2)" in out
    assert "parameters: 4 arrays, 17 numbers" in out
    assert "trained: no" in out
    assert "XOR problem" in out


def test_info_on_a_trained_project(tmp_path, capsys):
    project = EXAMPLES["xor"]()
    project.training = {"optimizer": "adam", "lr": 0.01}
    project.history = {"loss": np.array([0.7, 0.5])}
    save(project, tmp_path / "t.bpg")
    code, out, _ = run(capsys, "info", str(tmp_path / "t.bpg"))
    assert code == 0 and "trained: yes" in out and "optimizer='adam'" in out


def test_export_onnx_and_numpy(tmp_path, capsys):
    code, out, err = run(capsys, "export", XOR, "--onnx", str(tmp_path / "m.onnx"),
                         "--numpy", str(tmp_path / "m.py"))
    assert code == 0, err
    onnx.checker.check_model(onnx.load(str(tmp_path / "m.onnx")), full_check=True)
    assert (tmp_path / "m.py").exists() and (tmp_path / "m.npz").exists()
    assert "wrote" in out


def test_export_a_chosen_output(tmp_path, capsys):
    code, _, err = run(capsys, "export", XOR, "--onnx", str(tmp_path / "h.onnx"), "--output", "hidden")
    assert code == 0, err
    assert [o.name for o in onnx.load(str(tmp_path / "h.onnx")).graph.output] == ["hidden"]


@pytest.mark.parametrize("argv, message", [
    (["info", "/no/such/file.bpg"], "/no/such/file.bpg: No such file or directory"),
    (["info", str(ROOT / "pyproject.toml")], "not a Backprop Studio project file"),
    (["export", XOR], "say what to export"),
    (["export", XOR, "--onnx", "OUT", "--output", "nope"], "no node named 'nope'"),
    (["export", XOR, "--onnx", "OUT", "--output", "loss"], "bce 'loss' cannot be exported"),
    (["export", XOR, "--numpy", "OUT.txt"], "must end in .py"),
    (["export", XOR, "--onnx", "/no/such/folder/m.onnx"],
     "/no/such/folder/m.onnx: cannot write there: the folder '/no/such/folder' does not exist"),
])
def test_user_mistakes_give_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("bpstudio-cli: error: ")
    assert "Traceback" not in err


def test_damaged_file_in_a_real_process(tmp_path):
    damaged = tmp_path / "damaged.bpg"
    data = bytearray((ROOT / "resources" / "examples" / "xor.bpg").read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    result = subprocess.run([sys.executable, "-m", "bpstudio.cli", "info", str(damaged)],
                            capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"bpstudio-cli: error: {damaged}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_parser_has_one_function_per_subcommand():
    parser = build_parser()
    assert parser.parse_args(["ops"]).command == "ops"
    args = parser.parse_args(["export", "f.bpg", "--numpy", "o.py", "--output", "p"])
    assert (args.file, args.numpy, args.onnx, args.output) == ("f.bpg", "o.py", None, "p")
    with pytest.raises(SystemExit):
        parser.parse_args(["info"])


def test_a_reader_that_stops_early_is_not_an_error():
    """`bpstudio-cli info FILE | head -1`: the closed pipe ends the command quietly."""
    import subprocess
    import sys
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "resources" / "examples" / "xor.bpg"
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait(timeout=60)  # gone before the command writes a byte: every write hits EPIPE
    result = subprocess.run([sys.executable, "-m", "bpstudio.cli", "info", str(example)],
                            stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=60)
    reader.stdin.close()
    assert result.returncode == 0
    assert result.stderr == ""
