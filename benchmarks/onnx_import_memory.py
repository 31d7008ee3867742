"""Peak memory of an ONNX import against the size of the file (Linux: reads /proc).

    python benchmarks/onnx_import_memory.py [--width 3100] [--layers 5]

Builds a model of ``layers`` float32 weight matrices of ``width`` x ``width`` (the defaults
make a ~190 MB file: x -> MatMul -> ... -> MatMul), a Gemm model of the same size with a
bias per layer (transB, as torch.onnx writes a Linear), and MatMul models of about the same
size with 4, 3 and 1 equal weights (where the largest weight is a large share of the file),
then imports each in a fresh process and
prints the peak resident size above what that process held before: as a multiple of the file
size, and as a multiple of the baseline measured in the same run, the float64 weights the
import must end with (a reader that only read the file and converted the weights would come
near 1.0 of that). The target is at most 2.5 file sizes.

Before each weight was widened inside its float64 array, the float32 copy of the weight being
converted was alive beside its float64 copy: 2.25 file sizes with 5 weights, 2.31 with 4, 2.42
with 3, 3.25 with one; now about 2.0 for each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20

MEASURE = textwrap.dedent("""
    import json, sys
    from bpstudio.core.files.import_onnx import import_onnx

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024

    import_onnx(sys.argv[1])  # a small model first: the libraries are loaded
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak, to the present size
    before = status("VmRSS")
    project = import_onnx(sys.argv[2])
    weights = sum(n.value.nbytes for n in project.graph.nodes_of("parameter"))
    print(json.dumps({"extra": status("VmHWM") - before, "weights": weights}))
""")


def model(width: int, layers: int, gemm: bool):
    rng = np.random.default_rng(0)
    nodes, weights, last = [], [], "x"
    for k in range(layers):
        weights.append(numpy_helper.from_array(
            rng.standard_normal((width, width), dtype=np.float32), f"w{k}"))
        if gemm:
            weights.append(numpy_helper.from_array(
                rng.standard_normal(width, dtype=np.float32), f"b{k}"))
            nodes.append(helper.make_node("Gemm", [last, f"w{k}", f"b{k}"], [f"h{k}"], transB=1))
        else:
            nodes.append(helper.make_node("MatMul", [last, f"w{k}"], [f"h{k}"]))
        last = f"h{k}"
    graph = helper.make_graph(nodes, "benchmark",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, ["N", width])],
                              initializer=weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def measure(small: Path, path: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", MEASURE, str(small), str(path)],
                            capture_output=True, text=True, check=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT)})
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=3100)
    parser.add_argument("--layers", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / "small.onnx"
        small.write_bytes(model(4, 1, gemm=False).SerializeToString())
        print(f"{'model':<12} {'file MiB':>9} {'peak MiB':>9} {'x file':>7} {'x weights':>10}")
        numbers = args.width ** 2 * args.layers  # every layout holds about as many weights
        layouts = [("MatMul", args.width, args.layers, False),
                   ("Gemm", args.width, args.layers, True)]
        layouts += [(f"MatMul x{k}", round((numbers / k) ** 0.5), k, False) for k in (4, 3, 1)]
        for label, width, layers, gemm in layouts:
            path = Path(folder) / "model.onnx"
            path.write_bytes(model(width, layers, gemm).SerializeToString())
            size = path.stat().st_size
            figures = measure(small, path)
            print(f"{label:<12} {size / MIB:>9.0f} "
                  f"{figures['extra'] / MIB:>9.0f} {figures['extra'] / size:>7.2f} "
                  f"{figures['extra'] / figures['weights']:>10.2f}")


if __name__ == "__main__":
    main()
