"""Expected chat prompts, rendered by jinja2 from each family's reference template.

- chatml: SmolLM2-135M-Instruct's own `tokenizer.chat_template`, read from the GGUF (path in argv[1]).
- gemma: Gemma 3's instruction template (google/gemma-3-*-it tokenizer_config.json; the GGUFs of the
  larger Gemma 3 models carry it too), text-content branch only; Gemma 3 270M's GGUF has none.
- llama3: Meta Llama 3 Instruct's template.
Run from this folder:
  python3 generate_chat_templates.py /tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf > chat_templates.jsonl
"""
import json
import sys

import jinja2
from gguf import GGUFReader

GEMMA3 = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim }}
    {{- '<end_of_turn>\\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model\\n'}}
{%- endif -%}
"""

LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}"
          "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
          "+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
          "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def gguf_template(path):
    field = GGUFReader(path).fields["tokenizer.chat_template"]
    return bytes(field.parts[field.data[0]]).decode("utf-8")


families = {
    "gemma": (GEMMA3, "<bos>"),
    "llama3": (LLAMA3, "<|begin_of_text|>"),
    "chatml": (gguf_template(sys.argv[1]), ""),
}

S, U, A = "system", "user", "assistant"
conversations = [
    [(U, "What is the capital of France?")],
    [(S, "You are a terse assistant."), (U, "What is a KV cache?")],
    [(U, "Hi!"), (A, "Hello. How can I help?"), (U, "Write a haiku about the sea.")],
    [(S, "  Be brief.  "), (U, "  padded question \n"), (A, "\tanswer\n\n"), (U, "next")],
    [(U, "Emoji 🍕 and 日本語, <tags> & \"quotes\"")],
    [(S, "Only a system message.")],
    [],
]

env = jinja2.Environment()
for family, (source, bos) in families.items():
    template = env.from_string(source)
    for conversation in conversations:
        messages = [{"role": r, "content": c} for r, c in conversation]
        for gen in (True, False):
            for include_bos in (True, False):
                if family == "chatml" and include_bos:
                    continue
                try:
                    text = template.render(messages=messages, add_generation_prompt=gen,
                                           bos_token=bos if include_bos else "")
                except jinja2.exceptions.UndefinedError:
                    continue  # Gemma's template cannot render an empty conversation
                print(json.dumps({"family": family, "messages": messages, "add_generation_prompt": gen,
                                  "include_bos": include_bos, "expected": text}, ensure_ascii=False))
