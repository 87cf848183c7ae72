#!/usr/bin/env python3
"""Drives an OpenAI- and Anthropic-compatible server with the official `openai` and `anthropic`
Python SDKs: every endpoint, streaming and not, and the error cases.

    python3 scripts/sdk_conformance.py --base-url http://127.0.0.1:8080 [--model smollm2-135m] \
        [--api-key KEY_A] [--other-key KEY_B]

Runs against `rdic serve` and against llama.cpp's `llama-server` (features that a server does not
implement are reported as SKIP, detected from its answers, never assumed). Exit status 0 when
nothing failed. Needs: pip install openai anthropic
"""
import argparse
import json
import sys
import urllib.error
import urllib.request
import uuid

import anthropic
import openai

RESULTS = []


def check(name):
    def wrap(fn):
        def run(ctx):
            try:
                outcome = fn(ctx)
                RESULTS.append((name, "SKIP" if isinstance(outcome, Skip) else "PASS", str(outcome or "")))
            except Exception as error:  # a failed assertion or an unexpected SDK error
                RESULTS.append((name, "FAIL", f"{type(error).__name__}: {error}"))
        run.check_name = name
        return run
    return wrap


class Skip(str):
    pass


def raw(ctx, method, path, body=None, headers=None, data=None):
    """A request outside the SDKs, for what they cannot send (malformed JSON, oversized bodies)."""
    headers = dict(headers or {})
    if data is None and body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        headers.setdefault("content-type", "application/json")
    request = urllib.request.Request(ctx.base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


class Context:
    def __init__(self, args):
        self.base = args.base_url.rstrip("/")
        self.model = args.model
        self.key = args.api_key or "none"
        self.other_key = args.other_key
        self.keyed = args.api_key is not None
        self.oa = openai.OpenAI(base_url=self.base + "/v1", api_key=self.key, max_retries=0, timeout=120)
        self.an = anthropic.Anthropic(base_url=self.base, api_key=self.key, max_retries=0, timeout=120)
        status, _, _ = raw(self, "GET", "/v1/agents", headers={"Authorization": f"Bearer {self.key}"})
        self.is_rdic = status == 200
        if self.model is None:
            self.model = self.oa.models.list().data[0].id
        self.run_id = uuid.uuid4().hex[:8]

    def agent(self, name):
        return {"X-Agent-ID": f"{name}-{self.run_id}"}


# Sampling fields go through extra_body for Anthropic: recent SDK releases dropped `temperature`,
# `top_p` and `top_k` from `messages.create` while the API still accepts them.
GREEDY = {"temperature": 0}

QUESTION = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "What is the capital of France?"}]


@check("openai: GET /v1/models lists the model")
def models(ctx):
    ids = [m.id for m in ctx.oa.models.list().data]
    assert ids, "empty model list"
    if ctx.is_rdic:
        assert ctx.model in ids, ids


@check("anthropic: models.list and models.retrieve, unknown id is 404")
def anthropic_models(ctx):
    try:
        page = ctx.an.models.list()
    except anthropic.NotFoundError:
        return Skip("no Anthropic-shaped /v1/models")
    ids = [m.id for m in page.data]
    assert ids and all(m.type == "model" and m.display_name and m.created_at for m in page.data), page
    if ctx.is_rdic:
        assert ctx.model in ids and page.has_more is False, page
    one = ctx.an.models.retrieve(ids[0])
    assert one.id == ids[0] and one.type == "model", one
    try:
        ctx.an.models.retrieve("no-such-model")
        raise AssertionError("an unknown model was found")
    except anthropic.NotFoundError as error:
        assert error.body["type"] == "error" and error.body["error"]["type"] == "not_found_error", error.body


@check("openai: chat completion, then the same answer streamed with include_usage")
def chat(ctx):
    plain = ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=12, temperature=0)
    text = plain.choices[0].message.content
    assert text, "empty answer"
    assert plain.choices[0].finish_reason in ("stop", "length"), plain.choices[0].finish_reason
    assert plain.usage.prompt_tokens > 0 and 0 < plain.usage.completion_tokens <= 12, plain.usage
    chunks = list(ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=12, temperature=0,
                                                  stream=True, stream_options={"include_usage": True}))
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == text, (streamed, text)
    assert any(c.choices and c.choices[0].finish_reason for c in chunks), "no finish_reason chunk"
    assert chunks[-1].usage is not None and chunks[-1].usage.prompt_tokens == plain.usage.prompt_tokens, chunks[-1]


@check("openai: max_completion_tokens, seed, stop, content parts")
def chat_options(ctx):
    parts = [{"role": "user", "content": [{"type": "text", "text": "Count from 1 to 20, separated by commas."}]}]
    a = ctx.oa.chat.completions.create(model=ctx.model, messages=parts, max_completion_tokens=5, temperature=0.9, seed=7)
    b = ctx.oa.chat.completions.create(model=ctx.model, messages=parts, max_completion_tokens=5, temperature=0.9, seed=7)
    assert a.usage.completion_tokens <= 5, a.usage
    assert a.choices[0].message.content == b.choices[0].message.content, "same seed, different text"
    stopped = ctx.oa.chat.completions.create(model=ctx.model, messages=parts, max_tokens=40, temperature=0, stop=["5"])
    text = stopped.choices[0].message.content
    assert "5" not in text and stopped.choices[0].finish_reason == "stop", (text, stopped.choices[0].finish_reason)


@check("openai: logprobs with top_logprobs")
def logprobs(ctx):
    reply = ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=4, temperature=0,
                                           logprobs=True, top_logprobs=2)
    content = reply.choices[0].logprobs.content
    # completion_tokens may count an end-of-turn token that has no logprobs entry
    assert len(content) in (reply.usage.completion_tokens, reply.usage.completion_tokens - 1), (len(content), reply.usage)
    for entry in content:
        assert entry.logprob <= 0 and len(entry.top_logprobs) == 2, entry
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob


@check("openai: legacy completions, plain and streamed")
def completions(ctx):
    plain = ctx.oa.completions.create(model=ctx.model, prompt="The capital of France is", max_tokens=6, temperature=0)
    text = plain.choices[0].text
    assert text and plain.usage.completion_tokens <= 6, plain
    streamed = "".join(c.choices[0].text for c in ctx.oa.completions.create(
        model=ctx.model, prompt="The capital of France is", max_tokens=6, temperature=0, stream=True) if c.choices)
    assert streamed == text, (streamed, text)


@check("openai: an agent's second turn reports cached tokens")
def openai_cache(ctx):
    headers = ctx.agent("oa-cache")
    first = ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=8, temperature=0, extra_headers=headers)
    history = QUESTION + [{"role": "assistant", "content": first.choices[0].message.content},
                          {"role": "user", "content": "And of Italy?"}]
    second = ctx.oa.chat.completions.create(model=ctx.model, messages=history, max_tokens=8, temperature=0, extra_headers=headers)
    details = second.usage.prompt_tokens_details
    if details is None or details.cached_tokens is None:
        return Skip("server does not report prompt_tokens_details.cached_tokens")
    assert details.cached_tokens > 0, second.usage


@check("openai: errors (n=2, prompt too long, malformed JSON, unknown model, bad key)")
def openai_errors(ctx):
    try:
        ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=4, n=2)
        if ctx.is_rdic:
            raise AssertionError("n=2 accepted")
    except openai.BadRequestError:
        pass
    try:
        ctx.oa.chat.completions.create(model=ctx.model, messages=[{"role": "user", "content": "word " * 40000}], max_tokens=4)
        raise AssertionError("an over-long prompt was accepted")
    except (openai.BadRequestError, openai.APIStatusError) as error:
        assert error.status_code in (400, 413), error.status_code
    status, _, body = raw(ctx, "POST", "/v1/chat/completions", data=b"{not json",
                          headers={"Authorization": f"Bearer {ctx.key}"})
    assert status in (400, 500) if not ctx.is_rdic else status == 400, (status, body)
    assert "error" in json.loads(body), body
    if ctx.is_rdic:
        try:
            ctx.oa.chat.completions.create(model="no-such-model", messages=QUESTION, max_tokens=4)
            raise AssertionError("unknown model accepted")
        except openai.NotFoundError as error:
            assert error.body["type"] == "not_found_error" or error.code == "not_found", error.body
    if ctx.keyed:
        bad = openai.OpenAI(base_url=ctx.base + "/v1", api_key="wrong-key", max_retries=0)
        try:
            bad.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=4)
            raise AssertionError("a wrong key was accepted")
        except openai.AuthenticationError:
            pass


@check("anthropic: message, then the same answer streamed (documented event order)")
def messages(ctx):
    turn = [{"role": "user", "content": "Name a color."}]
    plain = ctx.an.messages.create(model=ctx.model, max_tokens=10, system="Be brief.", messages=turn, extra_body=GREEDY)
    assert plain.type == "message" and plain.role == "assistant", plain
    text = "".join(b.text for b in plain.content if b.type == "text")
    assert text, plain
    assert plain.stop_reason in ("end_turn", "max_tokens"), plain.stop_reason
    assert plain.usage.input_tokens + (plain.usage.cache_read_input_tokens or 0) > 0, plain.usage
    events = list(ctx.an.messages.create(model=ctx.model, max_tokens=10, system="Be brief.", messages=turn,
                                         extra_body=GREEDY, stream=True))
    kinds = [e.type for e in events if e.type != "ping"]
    assert kinds[0] == "message_start" and kinds[1] == "content_block_start", kinds
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"], kinds
    assert set(kinds[2:-3]) <= {"content_block_delta"}, kinds
    streamed = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert streamed == text, (streamed, text)
    with ctx.an.messages.stream(model=ctx.model, max_tokens=10, system=[{"type": "text", "text": "Be brief."}],
                                messages=turn, extra_body=GREEDY) as stream:
        assert "".join(stream.text_stream) == text
        final = stream.get_final_message()
    assert final.usage.output_tokens > 0, final.usage


@check("anthropic: stop_sequences, top_k, top_p")
def anthropic_options(ctx):
    turn = [{"role": "user", "content": "Count from 1 to 20, separated by commas."}]
    reply = ctx.an.messages.create(model=ctx.model, max_tokens=40, messages=turn, stop_sequences=["5"],
                                   extra_body={"temperature": 0, "top_k": 5, "top_p": 0.9})
    text = "".join(b.text for b in reply.content)
    assert "5" not in text and reply.stop_reason == "stop_sequence", (text, reply.stop_reason)
    assert reply.stop_sequence == "5", reply.stop_sequence


@check("anthropic: an agent's second turn reports cache_read_input_tokens")
def anthropic_cache(ctx):
    user = {"user_id": f"an-cache-{ctx.run_id}"}
    turn = [{"role": "user", "content": "Name a color."}]
    first = ctx.an.messages.create(model=ctx.model, max_tokens=8, messages=turn, extra_body=GREEDY, metadata=user)
    history = turn + [{"role": "assistant", "content": first.content[0].text}, {"role": "user", "content": "Another."}]
    second = ctx.an.messages.create(model=ctx.model, max_tokens=8, messages=history, extra_body=GREEDY, metadata=user)
    if second.usage.cache_read_input_tokens is None:
        return Skip("server does not report cache_read_input_tokens")
    assert second.usage.cache_read_input_tokens > 0, second.usage
    if ctx.is_rdic:  # the API documents the field as nullable; rdic always fills it
        assert second.usage.cache_creation_input_tokens is not None, second.usage


@check("anthropic: count_tokens")
def count_tokens(ctx):
    turn = [{"role": "user", "content": "Name a color."}]
    try:
        counted = ctx.an.messages.count_tokens(model=ctx.model, system="Be brief.", messages=turn)
    except anthropic.NotFoundError:
        return Skip("no /v1/messages/count_tokens")
    reply = ctx.an.messages.create(model=ctx.model, max_tokens=1, system="Be brief.", messages=turn, extra_body=GREEDY)
    prompt = reply.usage.input_tokens + (reply.usage.cache_read_input_tokens or 0) + (reply.usage.cache_creation_input_tokens or 0)
    assert counted.input_tokens == prompt, (counted, reply.usage)


@check("anthropic: errors (missing max_tokens, prompt too long, bad key)")
def anthropic_errors(ctx):
    try:
        ctx.an.post("/v1/messages", cast_to=object, body={"model": ctx.model, "messages": [{"role": "user", "content": "hi"}]})
        if ctx.is_rdic:
            raise AssertionError("a request without max_tokens was accepted")
    except anthropic.BadRequestError as error:
        assert error.body["type"] == "error" and error.body["error"]["type"] == "invalid_request_error", error.body
        assert "max_tokens" in error.body["error"]["message"], error.body
    try:
        ctx.an.messages.create(model=ctx.model, max_tokens=4, messages=[{"role": "user", "content": "word " * 40000}])
        raise AssertionError("an over-long prompt was accepted")
    except (anthropic.BadRequestError, anthropic.APIStatusError) as error:
        assert error.status_code in (400, 413), error.status_code
    if ctx.keyed:
        bad = anthropic.Anthropic(base_url=ctx.base, api_key="wrong-key", max_retries=0)
        try:
            bad.messages.create(model=ctx.model, max_tokens=4, messages=[{"role": "user", "content": "hi"}])
            raise AssertionError("a wrong key was accepted")
        except anthropic.AuthenticationError as error:
            assert error.body["error"]["type"] == "authentication_error", error.body


@check("rdic: body over the size limit is 413 in the API's shape")
def too_large(ctx):
    if not ctx.is_rdic:
        return Skip("rdic-specific limit")
    body = {"model": ctx.model, "max_tokens": 4, "messages": [{"role": "user", "content": "x" * (9 << 20)}]}
    try:
        ctx.an.messages.create(**body)
        raise AssertionError("an oversized body was accepted")
    except anthropic.APIStatusError as error:
        assert error.status_code == 413 and error.body["error"]["type"] == "request_too_large", error.body


@check("rdic: agents list and delete, isolated per key")
def agents(ctx):
    if not ctx.is_rdic:
        return Skip("no /v1/agents")
    name = f"listed-{ctx.run_id}"
    ctx.oa.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=2, extra_headers={"X-Agent-ID": name})
    listed = ctx.oa.get("/agents", cast_to=object)
    assert name in [a["id"] for a in listed["data"]], listed
    if ctx.other_key:
        other = openai.OpenAI(base_url=ctx.base + "/v1", api_key=ctx.other_key, max_retries=0)
        assert name not in [a["id"] for a in other.get("/agents", cast_to=object)["data"]]
        again = other.chat.completions.create(model=ctx.model, messages=QUESTION, max_tokens=2, extra_headers={"X-Agent-ID": name})
        assert again.usage.prompt_tokens_details.cached_tokens == 0, again.usage
        try:
            other.delete(f"/agents/{name}", cast_to=object)
            other.delete(f"/agents/{name}", cast_to=object)
            raise AssertionError("deleted twice")
        except openai.NotFoundError:
            pass
    ctx.oa.delete(f"/agents/{name}", cast_to=object)
    assert name not in [a["id"] for a in ctx.oa.get("/agents", cast_to=object)["data"]]


@check("health and Prometheus metrics")
def health(ctx):
    # With the key, as a monitoring client configured for a keyed server sends it (llama-server
    # asks for it on /health; rdic answers with or without).
    keyed = {"Authorization": f"Bearer {ctx.key}"}
    status, _, body = raw(ctx, "GET", "/health", headers=keyed)
    assert status == 200, (status, body)
    status, headers, body = raw(ctx, "GET", "/metrics", headers=keyed)
    if status == 404 or status == 501:
        return Skip("no /metrics")
    assert status == 200 and "# TYPE" in body, (status, body[:200])
    if ctx.is_rdic:
        assert "rdic_requests_total" in body and ctx.key not in body


CHECKS = [models, anthropic_models, chat, chat_options, logprobs, completions, openai_cache, openai_errors, messages,
          anthropic_options, anthropic_cache, count_tokens, anthropic_errors, too_large, agents, health]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="server root, without /v1")
    parser.add_argument("--model", help="model id to request (default: the first one /v1/models lists)")
    parser.add_argument("--api-key", help="a key the server accepts (omit for a server without auth)")
    parser.add_argument("--other-key", help="a second tenant's key, for the isolation checks")
    parser.add_argument("--only", help="run only checks whose name contains this text")
    args = parser.parse_args()
    ctx = Context(args)
    print(f"server: {ctx.base} ({'rdic' if ctx.is_rdic else 'not rdic: rdic-only checks skip'}); "
          f"openai {openai.__version__}, anthropic {anthropic.__version__}")
    for run in CHECKS:
        if args.only and args.only not in run.check_name:
            continue
        run(ctx)
        name, outcome, detail = RESULTS[-1]
        print(f"{outcome:4}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
    failed = sum(1 for r in RESULTS if r[1] == "FAIL")
    print(f"{sum(1 for r in RESULTS if r[1] == 'PASS')} passed, {failed} failed, "
          f"{sum(1 for r in RESULTS if r[1] == 'SKIP')} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
