#!/usr/bin/env python3
"""Warm-agent time to first token and aggregate throughput of an OpenAI-compatible server, at
1, 4 and 8 concurrent agents; run it against `rdic serve` and llama.cpp's `llama-server` on the
same model and machine to compare. Bounded: each agent sends --turns requests per level.

    python3 scripts/bench_serve.py --base-url http://127.0.0.1:8080 [--api-key KEY] [--levels 1,4,8]

Per level it reports: cold TTFT (a new agent's first request over a long history), warm TTFT (the
same agent's next turn: the history is in its cache), and aggregate decode throughput (generated
tokens / wall time with all agents streaming at once). Standard library only.
"""
import argparse
import json
import statistics
import threading
import time
import urllib.request
import uuid

MODEL = "default"
FILLER = ("The committee reviewed the quarterly figures, noted the delays in the northern depot, "
          "and asked every team to report progress weekly. ")


def stream_chat(base, key, agent, messages, max_tokens):
    """Streams one chat completion; returns (seconds to first content, completion tokens, text,
    usage)."""
    body = {"model": MODEL, "messages": messages, "max_tokens": max_tokens, "temperature": 0, "stream": True,
            "stream_options": {"include_usage": True}, "cache_prompt": True}
    headers = {"content-type": "application/json", "X-Agent-ID": agent}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(), headers=headers)
    start = time.perf_counter()
    first = None
    tokens = 0
    text = ""
    usage = None
    with urllib.request.urlopen(request, timeout=600) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    if first is None:
                        first = time.perf_counter() - start
                    tokens += 1
                    text += piece
    if usage and usage.get("completion_tokens"):
        tokens = usage["completion_tokens"]
    return first if first is not None else time.perf_counter() - start, tokens, text, usage or {}


def model_name(base, key):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with urllib.request.urlopen(urllib.request.Request(base + "/v1/models", headers=headers), timeout=30) as r:
        return json.load(r)["data"][0]["id"]


def run_level(args, agents):
    run = uuid.uuid4().hex[:6]
    histories = {}
    cold = []
    prompt_tokens = []
    cached = []
    # Each agent's first turn over a long, distinct history: the cold prefill.
    for a in range(agents):
        # The run id first: no cached prefix of an earlier run (same tenant) makes a cold agent warm.
        history = [{"role": "system", "content": f"[{run}] You are assistant {a}. " + FILLER * args.history_repeats},
                   {"role": "user", "content": f"Summarize note {a} in one line."}]
        ttft, _, text, usage = stream_chat(args.base_url, args.api_key, f"bench-{run}-{a}", history, args.max_tokens)
        cold.append(ttft)
        prompt_tokens.append(usage.get("prompt_tokens", 0))
        histories[a] = history + [{"role": "assistant", "content": text}]
    warm = []
    generated = [0] * agents
    lock = threading.Lock()

    def agent_turns(a):
        for turn in range(args.turns):
            histories[a].append({"role": "user", "content": f"Follow-up {turn}: and then?"})
            ttft, tokens, text, usage = stream_chat(args.base_url, args.api_key, f"bench-{run}-{a}", histories[a], args.max_tokens)
            histories[a].append({"role": "assistant", "content": text})
            with lock:
                warm.append(ttft)
                cached.append((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
                generated[a] += tokens

    start = time.perf_counter()
    threads = [threading.Thread(target=agent_turns, args=(a,)) for a in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    return {"agents": agents, "cold_ttft_s": statistics.median(cold), "warm_ttft_s": statistics.median(warm),
            "tokens_per_s": sum(generated) / wall, "generated": sum(generated), "wall_s": wall,
            "cold_prompt_tokens": statistics.median(prompt_tokens), "warm_cached_tokens": statistics.median(cached)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key")
    parser.add_argument("--levels", default="1,4,8")
    parser.add_argument("--turns", type=int, default=3, help="warm turns per agent per level")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--history-repeats", type=int, default=12, help="filler sentences in each agent's history")
    args = parser.parse_args()
    args.base_url = args.base_url.rstrip("/")
    global MODEL
    MODEL = model_name(args.base_url, args.api_key)
    print(f"server {args.base_url}, model {MODEL}")
    print(f"{'agents':>6} {'prompt':>7} {'cold TTFT s':>12} {'warm TTFT s':>12} {'cached':>7} {'cold/warm':>9} {'tok/s':>8}")
    for level in [int(x) for x in args.levels.split(",")]:
        r = run_level(args, level)
        print(f"{r['agents']:>6} {r['cold_prompt_tokens']:>7.0f} {r['cold_ttft_s']:>12.3f} {r['warm_ttft_s']:>12.3f} "
              f"{r['warm_cached_tokens']:>7.0f} "
              f"{r['cold_ttft_s'] / r['warm_ttft_s']:>9.1f} {r['tokens_per_s']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
