"""Heap memory through a real Envoy: the rendered bootstrap has Envoy hand free heap
pages back to the OS (render's memory_allocator_manager), so the memory V8 frees
after compiling the filter does not stay resident for the gateway's life."""
from __future__ import annotations

import time

MASTER = "sk-memory-master"
CONFIG = """
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {{model: openai/gpt-4o-mini, api_base: "{m}/v1", api_key: os.environ/OK}}
general_settings: {{master_key: os.environ/MASTER}}
"""


def test_free_heap_is_returned_to_the_os(mock, gateway_factory):
    gw = gateway_factory(CONFIG.format(m=mock.url), env={"MASTER": MASTER, "OK": "sk-o"})
    r = gw.admin("/memory")
    assert r.status_code == 200
    # Without the setting tcmalloc unmaps nothing on its own: released stays 0.
    deadline = time.monotonic() + 20
    while True:
        m = gw.admin("/memory").json()
        released = int(m["pageheap_unmapped"])
        if released > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert released > 0, f"no free heap released to the OS in 20 s: {m}"
