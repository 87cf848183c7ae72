#!/usr/bin/env bash
# Side-by-side speed of llama.cpp's llama-bench and `rdic bench` on the same GGUF file, the same
# tests and the same threads, run alternately (llama.cpp, rdic, llama.cpp, rdic, ...) so that a
# busy machine slows both alike. Prints tokens/s of each and the ratio rdic / llama.cpp, and the
# peak RSS of each process. Not part of CI.
#
#   LLAMA_CPP_BIN=~/llama.cpp/build/bin scripts/compare-llamacpp.sh MODEL.gguf [-p 512] [-n 128] [-d 0] [-t 2] [-r 3] [--rounds 2] [--numerics fast|llama-cpp]
#
# LLAMA_CPP_BIN is the folder holding llama-bench (or the llama-bench binary itself). RDIC is the
# rdic binary (default: .build/release/rdic, built with `swift build -c release` if missing).
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 1 ]] || usage
model=$1; shift
p=512 n=128 d=0 t=$(nproc) r=3 rounds=2 numerics=fast
while [[ $# -gt 0 ]]; do
  case $1 in
    -p) p=$2; shift 2 ;; -n) n=$2; shift 2 ;; -d) d=$2; shift 2 ;; -t) t=$2; shift 2 ;;
    -r) r=$2; shift 2 ;; --rounds) rounds=$2; shift 2 ;; --numerics) numerics=$2; shift 2 ;; *) usage ;;
  esac
done
[[ -n "${LLAMA_CPP_BIN:-}" ]] || { echo "set LLAMA_CPP_BIN to llama.cpp's build/bin folder" >&2; exit 2; }
llama=$LLAMA_CPP_BIN; [[ -d $llama ]] && llama=$llama/llama-bench
[[ -x $llama ]] || { echo "no llama-bench at $llama" >&2; exit 2; }
cd "$(dirname "$0")/.."
rdic=${RDIC:-.build/release/rdic}
[[ -x $rdic ]] || swift build -c release --product rdic >&2
command -v python3 >/dev/null || { echo "python3 is needed to read the JSON" >&2; exit 2; }

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# Peak RSS (KiB) of a command through GNU time when present, else 0.
measure() { # name round cmd...
  local name=$1 round=$2; shift 2
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f %M -o "$work/$name.$round.rss" "$@" > "$work/$name.$round.json"
  else
    "$@" > "$work/$name.$round.json"; echo 0 > "$work/$name.$round.rss"
  fi
}
for ((i = 0; i < rounds; i++)); do
  echo "round $((i + 1))/$rounds: llama-bench" >&2
  measure llama "$i" "$llama" -m "$model" -p "$p" -n "$n" -d "$d" -t "$t" -r "$r" -o json
  echo "round $((i + 1))/$rounds: rdic bench" >&2
  measure rdic "$i" "$rdic" bench -m "$model" -p "$p" -n "$n" -d "$d" -t "$t" -r "$r" --numerics "$numerics" --json
done

python3 - "$work" "$rounds" <<'PY'
import json, sys, statistics
work, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    tests, rss = {}, []
    for i in range(rounds):
        for o in json.load(open(f"{work}/{name}.{i}.json")):
            key = (o["n_prompt"], o["n_gen"], o["n_depth"])
            tests.setdefault(key, []).extend(o.get("samples_ts") or [o["avg_ts"]])
        rss.append(int(open(f"{work}/{name}.{i}.rss").read().split()[-1] or 0))
    return tests, max(rss)
llama, llama_rss = load("llama")
rdic, rdic_rss = load("rdic")
def name(k):
    p, n, d = k
    s = "+".join(x for x in ([f"pp{p}"] if p else []) + ([f"tg{n}"] if n else []))
    return s + (f" @ d{d}" if d else "")
print(f"{'test':<18} {'llama.cpp t/s':>16} {'rdic t/s':>16} {'ratio':>7}")
for k in sorted(set(llama) & set(rdic), key=lambda k: (k[2], -k[0], k[1])):
    a, b = llama[k], rdic[k]
    fmt = lambda xs: f"{statistics.mean(xs):8.2f} ± {statistics.stdev(xs) if len(xs) > 1 else 0:5.2f}"
    print(f"{name(k):<18} {fmt(a):>16} {fmt(b):>16} {statistics.mean(b) / statistics.mean(a):6.2f}x")
if llama_rss and rdic_rss:
    print(f"{'peak RSS (MiB)':<18} {llama_rss / 1024:16.1f} {rdic_rss / 1024:16.1f} {rdic_rss / llama_rss:6.2f}x")
PY
