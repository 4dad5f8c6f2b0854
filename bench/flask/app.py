"""Benchmark peer: the seed's design. A Flask route that calls the OpenAI-compatible upstream with
requests (stream=True) and yields `event:` / `data:` lines as they arrive, on Flask's threaded server.
It writes the same named events as GptAspire.Api (start, token*, usage, finish | error), so that the
load client reads every peer alike.

    OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=... PORT=... python3 app.py
"""

import json
import os
import uuid

import requests
from flask import Flask, Response, request

BASE_URL = os.environ["OPENAI_BASE_URL"].rstrip("/")
API_KEY = os.environ["OPENAI_API_KEY"]
MODEL = os.environ.get("OPENAI_MODEL", "gpt-4o-mini")

app = Flask(__name__)


def sse(event_id, event, data):
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\nid: {event_id}\n\n"


@app.get("/health")
def health():
    return "Healthy"


@app.post("/api/chat/stream")
def chat_stream():
    body = request.get_json()

    def events():
        event_id = 0
        yield sse(event_id, "start", {"requestId": str(uuid.uuid4())})
        payload = {
            "model": MODEL,
            "messages": body["messages"],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if body.get("maxTokens"):
            payload["max_tokens"] = body["maxTokens"]
        finish = None
        try:
            with requests.post(
                f"{BASE_URL}/chat/completions",
                headers={"Authorization": f"Bearer {API_KEY}"},
                json=payload,
                stream=True,
                timeout=(10, 300),
            ) as upstream:
                if upstream.status_code != 200:
                    event_id += 1
                    yield sse(event_id, "error", {"code": "upstream_error", "status": upstream.status_code})
                    return
                for line in upstream.iter_lines():
                    if not line.startswith(b"data: "):
                        continue
                    data = line[6:]
                    if data == b"[DONE]":
                        break
                    chunk = json.loads(data)
                    for choice in chunk.get("choices", []):
                        content = choice.get("delta", {}).get("content")
                        if content:
                            event_id += 1
                            yield sse(event_id, "token", {"text": content})
                        if choice.get("finish_reason"):
                            finish = choice["finish_reason"]
                    usage = chunk.get("usage")
                    if usage:
                        event_id += 1
                        yield sse(event_id, "usage", {
                            "promptTokens": usage["prompt_tokens"],
                            "completionTokens": usage["completion_tokens"],
                            "totalTokens": usage["total_tokens"],
                        })
        except requests.RequestException:
            event_id += 1
            yield sse(event_id, "error", {"code": "upstream_unavailable"})
            return
        event_id += 1
        yield sse(event_id, "finish", {"reason": finish or "stop"})

    return Response(events(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")), threaded=True)
