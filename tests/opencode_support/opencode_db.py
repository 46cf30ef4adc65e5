#!/usr/bin/env python3
"""Writes an OpenCode database the way OpenCode does (schema of session.sql.ts,
WAL mode, one upsert per message update), for creditwatch's tests.

  opencode_db.py fixture DB     create DB with the fixture sessions and messages
  opencode_db.py serve DB       keep DB open in WAL mode and apply the commands
                                read from stdin, one JSON object a line:
      {"op":"upsert","id":..,"session":..,"data":{..}}   message insert-or-update
      {"op":"raw","id":..,"session":..,"data":"text"}     data written as given
      {"op":"delete","id":..}
      {"op":"lock","ms":N,"then":{id,session,data}?}
                               hold an exclusive lock for N ms, writing `then` in
                               it (readers are kept out only with a rollback
                               journal: serve DB delete); prints "locked" first
      {"op":"quit"}
    and prints "ok <n>" after each command is committed.
"""
import json
import sqlite3
import sys
import time

SCHEMA = """
CREATE TABLE IF NOT EXISTS project (id text PRIMARY KEY, worktree text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL);
CREATE TABLE IF NOT EXISTS session (
  id text PRIMARY KEY, project_id text NOT NULL REFERENCES project(id) ON DELETE CASCADE,
  workspace_id text, parent_id text, slug text NOT NULL, directory text NOT NULL, path text,
  title text NOT NULL, version text NOT NULL, share_url text,
  summary_additions integer, summary_deletions integer, summary_files integer, summary_diffs text,
  revert text, permission text, time_created integer NOT NULL, time_updated integer NOT NULL,
  time_compacting integer, time_archived integer);
CREATE TABLE IF NOT EXISTS message (
  id text PRIMARY KEY, session_id text NOT NULL REFERENCES session(id) ON DELETE CASCADE,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX IF NOT EXISTS message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE IF NOT EXISTS part (
  id text PRIMARY KEY, message_id text NOT NULL REFERENCES message(id) ON DELETE CASCADE,
  session_id text NOT NULL, time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX IF NOT EXISTS part_message_id_id_idx ON part (message_id, id);
CREATE INDEX IF NOT EXISTS part_session_idx ON part (session_id);
"""

T0 = 1795000000000  # 2026-11-18T11:06:40Z in ms


def open_db(path, journal="WAL"):
    db = sqlite3.connect(path, isolation_level=None, timeout=30)
    db.execute(f"PRAGMA journal_mode={journal}")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


def session(db, sid, title, parent=None, t=T0):
    db.execute("INSERT OR IGNORE INTO project VALUES ('prj_fixture', '/home/dev/shop', ?, ?)", (t, t))
    db.execute(
        "INSERT OR IGNORE INTO session (id, project_id, parent_id, slug, directory, title, version, time_created, time_updated)"
        " VALUES (?, 'prj_fixture', ?, ?, '/home/dev/shop', ?, '1.2.6', ?, ?)",
        (sid, parent, sid[-6:].lower(), title, t, t),
    )


def upsert(db, mid, sid, data, text=None):
    """OpenCode's updateMessage: insert, or on conflict set data only."""
    now = int(time.time() * 1000)
    created = data["time"]["created"] if isinstance(data, dict) else now
    body = text if text is not None else json.dumps(data, separators=(",", ":"))
    db.execute(
        "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(id) DO UPDATE SET data = excluded.data",
        (mid, sid, created, now, body),
    )


def user(t, provider, model):
    return {"role": "user", "time": {"created": t}, "agent": "build", "model": {"providerID": provider, "modelID": model}}


def assistant(t, provider, model, parent, tokens, cost, completed=True, **extra):
    inp, out, reasoning, read, write = tokens
    d = {
        "role": "assistant",
        "time": {"created": t, **({"completed": t + 4200} if completed else {})},
        "parentID": parent,
        "modelID": model,
        "providerID": provider,
        "mode": "build",
        "agent": "build",
        "path": {"cwd": "/home/dev/shop", "root": "/home/dev/shop"},
        "cost": cost,
        "tokens": {"input": inp, "output": out, "reasoning": reasoning, "cache": {"read": read, "write": write}},
    }
    if completed:
        d["finish"] = "stop"
    d.update(extra)
    return d


S1 = "ses_52c1f0e3bffeQx9Lm2RtY7wKzA"  # main session
S2 = "ses_52c1ee91affeH3nPq8VdC5sJbT"  # subagent (child of S1)
S3 = "ses_52c1e6a07ffeW4kXo1ZgM9rLcE"  # fork of S1
M2 = "msg_ad3e0f1c4001aZx8Qw2Er5Ty7U"
M1 = "msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K"


def fixture(db):
    session(db, S1, "Add invoice export")
    session(db, S2, "Find the CSV writer (@explore subagent)", parent=S1)
    session(db, S3, "Add invoice export (fork #1)")
    a = "msg_ad3e0f1a2001pLm3Nb6Vc9Xz1K"
    rows = [
        (M1, S1, user(T0, "anthropic", "claude-sonnet-4-5-20250929")),
        # stated cost: 12*3 + 420*15 + 18000*0.30 + 2400*3.75 = 0.020736
        (M2, S1, assistant(T0 + 900, "anthropic", "claude-sonnet-4-5-20250929", a, (12, 420, 0, 18000, 2400), 0.020736)),
        # cost 0 (no price in OpenCode's catalogue): priced here, reasoning as output
        ("msg_ad3e10b73001Gh4Jk7Lm0Np3Qr", S1, assistant(T0 + 60000, "openai", "gpt-5", a, (1500, 800, 640, 3200, 0), 0)),
        # just created, nothing yet
        ("msg_ad3e12ee9001St6Uv9Wx2Yz5Ab", S1, assistant(T0 + 90000, "openai", "gpt-5", a, (0, 0, 0, 0, 0), 0, completed=False)),
        # failed before any token
        ("msg_ad3e13f00001Cd8Ef1Gh4Ij7Kl", S1, assistant(T0 + 95000, "anthropic", "claude-sonnet-4-5-20250929", a, (0, 0, 0, 0, 0), 0,
            error={"name": "APIError", "data": {"message": "Overloaded", "statusCode": 529, "isRetryable": True}})),
        ("msg_ad3e0f9d0001Mn0Op3Qr6St9Uv", S2, user(T0 + 30000, "anthropic", "claude-haiku-4-5-20251001")),
        # 9*1 + 300*5 + 12000*0.10 + 1500*1.25 = 0.004584
        ("msg_ad3e0fa11001Wx2Yz5Ab8Cd1Ef", S2, assistant(T0 + 31000, "anthropic", "claude-haiku-4-5-20251001",
            "msg_ad3e0f9d0001Mn0Op3Qr6St9Uv", (9, 300, 0, 12000, 1500), 0.004584)),
        # the fork: copies with new ids
        ("msg_ad3e2a0b1001Gh3Ij6Kl9Mn2Op", S3, user(T0, "anthropic", "claude-sonnet-4-5-20250929")),
        ("msg_ad3e2a0b2001Qr5St8Uv1Wx4Yz", S3, assistant(T0 + 900, "anthropic", "claude-sonnet-4-5-20250929",
            "msg_ad3e2a0b1001Gh3Ij6Kl9Mn2Op", (12, 420, 0, 18000, 2400), 0.020736)),
        # 4000*1.25 + (900+300)*10 = 0.017
        ("msg_ad3e2c4d5001Ab7Cd0Ef3Gh6Ij", S3, assistant(T0 + 200000, "google", "gemini-2.5-pro",
            "msg_ad3e2a0b1001Gh3Ij6Kl9Mn2Op", (4000, 900, 300, 0, 0), 0.017)),
        # OpenRouter's billed cost, stated
        ("msg_ad3e2e6f7001Kl9Mn2Op5Qr8St", S3, assistant(T0 + 260000, "openrouter", "anthropic/claude-sonnet-4",
            "msg_ad3e2a0b1001Gh3Ij6Kl9Mn2Op", (1000, 200, 0, 0, 0), 0.0123456)),
    ]
    for mid, sid, data in rows:
        upsert(db, mid, sid, data)
    # damaged data: counted as an error, named by its row
    upsert(db, "msg_ad3e2f0a1001Uv1Wx4Yz7Ab0Cd", S3, {"time": {"created": T0 + 270000}},
           text='{"role":"assistant","tokens":{"input":')


def serve(db):
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "quit":
            break
        if op == "upsert":
            session(db, cmd["session"], cmd.get("title", "live session"))
            upsert(db, cmd["id"], cmd["session"], cmd["data"])
        elif op == "raw":
            session(db, cmd["session"], "live session")
            upsert(db, cmd["id"], cmd["session"], {"time": {"created": T0}}, text=cmd["data"])
        elif op == "delete":
            db.execute("DELETE FROM message WHERE id = ?", (cmd["id"],))
        elif op == "lock":
            db.execute("BEGIN EXCLUSIVE")
            then = cmd.get("then")
            if then:
                session(db, then["session"], "locked session")
                upsert(db, then["id"], then["session"], then["data"])
            print("locked", flush=True)
            time.sleep(cmd["ms"] / 1000.0)
            db.execute("COMMIT")
        n += 1
        print(f"ok {n}", flush=True)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    # OpenCode uses WAL; "delete" (a rollback journal) lets a test hold a lock readers see
    db = open_db(path, sys.argv[3] if len(sys.argv) > 3 else "WAL")
    if mode == "fixture":
        fixture(db)
    elif mode == "serve":
        serve(db)
    db.close()


if __name__ == "__main__":
    main()
