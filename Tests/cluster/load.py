"""Mixed client load through the front, bounded in time: email checks, directory reads and
tenant creations from a few threads, each request with a client deadline. Every answer is
kept (kind, status, content type, seconds, and the slug of each tenant creation)."""
import collections
import threading
import time
import uuid

import requests

BROWSER = {"origin": "http://localhost:3000", "user-agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
           "accept": "application/json"}
# Longer than any deadline of the app (statement 5 s, connect 2 s per host) and the front (15 s):
# an answer later than this is a hang.
CLIENT_DEADLINE = 25


class Answer:
    __slots__ = ("kind", "status", "content_type", "seconds", "slug", "started")

    def __init__(self, kind, status, content_type, seconds, slug, started):
        self.kind, self.status, self.content_type = kind, status, content_type
        self.seconds, self.slug, self.started = seconds, slug, started


class MixedLoad:
    def __init__(self, public, internal, token, threads_per_kind=2, pause=0.02):
        self.public, self.internal, self.token = public, internal, token
        self.threads_per_kind, self.pause = threads_per_kind, pause
        self.answers = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []

    def request(self, kind):
        slug = None
        session = requests.Session()
        headers = {"authorization": f"Bearer {self.token}"}
        if kind == "email":
            call = lambda: session.post(f"{self.public}/api/trial/email/check", timeout=CLIENT_DEADLINE,  # noqa: E731
                                        json={"email": f"ops-{uuid.uuid4().hex[:6]}@example.com"}, headers=BROWSER)
        elif kind == "directory":
            call = lambda: session.get(f"{self.internal}/internal/tenants-directory?limit=20", timeout=CLIENT_DEADLINE,  # noqa: E731
                                       headers=headers)
        else:
            slug = "c-" + uuid.uuid4().hex[:12]
            call = lambda: session.post(f"{self.internal}/internal/tenants", timeout=CLIENT_DEADLINE,  # noqa: E731
                                        json={"slug": slug, "displayName": "Cluster tenant", "contactEmail": "ops@example.com"},
                                        headers=headers)
        return call, slug

    def worker(self, kind):
        while not self.stopping.is_set():
            call, slug = self.request(kind)
            started = time.monotonic()
            try:
                r = call()
                status, content_type = r.status_code, r.headers.get("content-type", "")
            except requests.Timeout:
                status, content_type = "timeout", ""
            except requests.RequestException as error:
                status, content_type = f"error:{type(error).__name__}", ""
            with self.lock:
                self.answers.append(Answer(kind, status, content_type, time.monotonic() - started, slug, started))
            time.sleep(self.pause)

    def start(self):
        for kind in ("email", "directory", "create"):
            for _ in range(self.threads_per_kind):
                thread = threading.Thread(target=self.worker, args=(kind,), daemon=True)
                thread.start()
                self.threads.append(thread)

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(CLIENT_DEADLINE + 5)
        assert not any(t.is_alive() for t in self.threads), "a load thread is still waiting for an answer"

    def between(self, start, end):
        with self.lock:
            return [a for a in self.answers if start <= a.started < end]

    def statuses(self, answers=None):
        counts = collections.Counter()
        for a in (self.answers if answers is None else answers):
            counts[(a.kind, a.status)] += 1
        return dict(sorted(counts.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))))
