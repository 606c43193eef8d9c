#!/usr/bin/env bash
# A checkpoint written by `dlc train` loads in PyTorch: the parameters go into a torch
# MLP with load_state_dict(strict=True) (same names and shapes as torch.nn.Linear's),
# and PyTorch's test loss and accuracy of those weights equal what dlc reported for
# them. Adam's state is checked too (one exp_avg/exp_avg_sq per parameter, the step
# count). Exits 77 (ctest: skipped) with the reason when python3 has no torch.
#   torch_checkpoint.sh DLC SOURCE_DIR
set -euo pipefail
dlc=$1 src=$2
python=""
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import torch' > /dev/null 2>&1; then python=$p; break; fi
done
if [ -z "$python" ]; then
  echo "SKIP: python3 cannot import torch (install Debian's python3-torch to run this check)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# dlc train keeps compiled kernels on disk: here, in this test's own directory (the
# runs after the first compile nothing).
export DLC_CACHE_DIR="$work/cache"
"$python" "$src/tests/train/make_idx.py" "$work/data" 640 200
"$dlc" train --model=mlp --data-dir="$work/data" --batch=64 --epochs=1 --max-steps=6 --threads=2 --progress=none \
  --save="$work/ck.safetensors" --log="$work/log.csv"

"$python" - "$work" <<'PY'
import gzip, json, struct, sys
import torch

work = sys.argv[1]
blob = open(f"{work}/ck.safetensors", "rb").read()
try:
    from safetensors.torch import load as st_load  # Hugging Face's reader, when installed
    tensors = st_load(blob)
    reader = "safetensors.torch"
except ImportError:
    (n,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    dt = {"F32": torch.float32, "I32": torch.int32, "I64": torch.int64, "F64": torch.float64}
    tensors = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(blob[8 + n + b:8 + n + end]), dtype=dt[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    reader = "torch.frombuffer"
meta = json.loads(blob[8:8 + struct.unpack_from("<Q", blob, 0)[0]]).get("__metadata__", {})

class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(784, 512)
        self.fc2 = torch.nn.Linear(512, 512)
        self.fc3 = torch.nn.Linear(512, 10)
    def forward(self, x):
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

model = Mlp()
params = {k: v for k, v in tensors.items() if not k.startswith("optimizer.")}
model.load_state_dict(params, strict=True)
for name, p in model.named_parameters():
    for s in ("exp_avg", "exp_avg_sq"):
        st = tensors[f"optimizer.{name}.{s}"]
        assert st.shape == p.shape and st.dtype == torch.float32, (name, s, st.shape)
assert int(tensors["optimizer.step"]) == 6, tensors["optimizer.step"]
assert meta["dlc.optimizer"] == "adam" and meta["dlc.steps"] == "6", meta

def idx(path):
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = struct.unpack_from(">" + "I" * dims, raw, 4)
    return torch.frombuffer(bytearray(raw[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)

x = idx(f"{work}/data/t10k-images-idx3-ubyte.gz").reshape(-1, 784).float() / 255
y = idx(f"{work}/data/t10k-labels-idx1-ubyte.gz").long()
with torch.no_grad():
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.double(), y).item()
    acc = 100.0 * (logits.argmax(1) == y).float().mean().item()

row = [l.split(",") for l in open(f"{work}/log.csv") if l.startswith("epoch,")][-1]
dlc_loss, dlc_acc = float(row[5]), float(row[6])
print(f"read with {reader}; PyTorch: loss {loss:.6f} accuracy {acc:.2f} %; dlc: loss {dlc_loss:.6f} accuracy {dlc_acc:.2f} %")
assert abs(acc - dlc_acc) < 1e-3, "accuracy differs"
assert abs(loss - dlc_loss) <= 1e-4 * max(1.0, abs(loss)), "loss differs"
print("PASS: the dlc checkpoint loads in PyTorch and gives the same test loss and accuracy")
PY
