#!/usr/bin/env bash
# Run on a lent GPU machine with .gpu/ prepared as ../shared/gpu/README.md says
# (Vulkan loader debs, the release `pallas` and `xtask` binaries, peers.py).
# One call on the lent GPU: Vulkan loader, the CLI (first launch in a fresh
# process with and without the on-disk pipeline cache), xtask bench on the
# GPU, then the PyTorch/JAX peers. Writes under $OUT.
for f in .gpu/debs/*.deb; do dpkg -x "$f" / >/dev/null 2>&1; done; ldconfig
export PYTHONUNBUFFERED=1 XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p -m 700 /tmp/xdg
B=.gpu/bin; L=$OUT/log.txt
step() { echo "=== $* ($(date +%T.%N))" | tee -a "$L"; }
step env; { nproc; nvidia-smi -L; ls /usr/share/vulkan/icd.d/ /usr/local/nvidia/share/vulkan/icd.d/ 2>&1; } >>"$L" 2>&1
if ! timeout 60 $B/pallas run examples/kernels/seed.pk --random 0 --backend wgpu >>"$L" 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  echo "using VK_DRIVER_FILES=$VK_DRIVER_FILES" >>"$L"
fi
export PALLAS_WGPU_CACHE_DIR=/tmp/pallas-cache
for k in seed matmul flash_attention; do
  f=examples/kernels/$k.pk; [ -f $f ] || continue
  for i in first-ever second third; do
    [ $i = first-ever ] && rm -rf /tmp/pallas-cache
    s=$(date +%s%N); timeout 60 $B/pallas run $f --random 0 --backend wgpu >>"$L" 2>&1
    e=$(date +%s%N); echo "PROCESS $k $i: $(( (e-s)/1000000 )) ms" | tee -a "$L"
  done
done
ls -la /tmp/pallas-cache >>"$L" 2>&1
step xtask-bench; timeout 240 $B/xtask bench --out "$OUT/bench" >>"$L" 2>&1
step peers; timeout 120 python3 .gpu/peers.py "$OUT/peers.json" >>"$L" 2>&1
step done
