"""Drive a few virtual grid workers through the real HTTP API, as their phones would (docs/field.md §9).

    python -m console.simulate_field --url http://127.0.0.1:8050 --worker wg610902001001001 --worker … \
        --password '…' --fixes 20

Each worker logs in (the login page, the session cookie, the CSRF token), fetches the own grid, starts a patrol,
walks (GPS fixes around the grid's centre, now and then a coarse one), checks in at households, an organisation and
a 公共安全 key place, reports an event, records a follow-up visit for the most overdue special-population record,
accepts, handles and reports back every task the duty desk sent (queued `task` records, as the phone sends them), and
stops the patrol with the whole track. Every change goes through
/api/field/sync with its own UUIDs; with `--replay` each batch is sent twice (a lost answer), which must store
nothing twice. Prints one JSON summary line at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import requests

APP_VERSION = "3"  # console/routes/field.py APP_VERSION


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class Phone:
    """One virtual worker's phone: a logged-in HTTP session and the queue it sends."""

    def __init__(self, url: str, username: str, password: str, seed: int, replay: bool = False, timeout: float = 20):
        self.url, self.username, self.replay, self.timeout = url.rstrip("/"), username, replay, timeout
        self.rng = random.Random(f"{seed}:{username}")
        self.http = requests.Session()
        self.count = {"sent": 0, "created": 0, "updated": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
        self.errors: list[str] = []
        self._login(password)

    def _login(self, password: str) -> None:
        page = self.http.get(self.url + "/login", timeout=self.timeout).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        r = self.http.post(self.url + "/login", data={"username": self.username, "password": password,
                                                      "csrf_token": token},
                           headers={"Origin": self.url}, allow_redirects=False, timeout=self.timeout)
        if r.status_code != 303:
            raise RuntimeError(f"{self.username}: 登录失败（{r.status_code}）")
        self.http.get(self.url + "/m/", timeout=self.timeout)  # the app shell sets the CSRF cookie
        self.http.headers.update({"X-CSRFToken": self.http.cookies.get("_csrf_token", ""), "Origin": self.url,
                                  "X-Field-App": APP_VERSION})

    def get(self, path: str) -> dict:
        r = self.http.get(self.url + path, timeout=self.timeout)
        r.raise_for_status()
        return r.json()

    def sync(self, *records: dict) -> list[dict]:
        body = {"sent_at": _iso(datetime.now(timezone.utc)), "records": list(records)}
        first: list[dict] = []
        for attempt in range(2 if self.replay else 1):
            r = self.http.post(self.url + "/api/field/sync", json=body, timeout=self.timeout)
            if r.status_code != 200:
                self.errors.append(f"sync {r.status_code}: {r.text[:120]}")
                return first
            results = r.json()["results"]
            if attempt == 0:
                first = results
                self.count["sent"] += len(records)
                for res in results:
                    self.count[res["status"]] = self.count.get(res["status"], 0) + 1
                    if res["status"] == "rejected":
                        self.errors.append(res.get("error", ""))
            elif [x["version"] for x in results] != [x["version"] for x in first]:  # a replay must change nothing
                self.errors.append("重发的结果与首次不一致")
        return first

    def record(self, kind: str, fields: dict, *, grid: str | None = None, household: int | None = None,
               location: dict | None = None, uid: str | None = None, base: int = 0) -> dict:
        return {"uuid": uid or str(uuid.uuid4()), "op_id": str(uuid.uuid4()), "kind": kind, "base_version": base,
                "grid_code": grid, "client_time": _iso(datetime.now(timezone.utc)), "location": location,
                "household_id": household, "fields": fields}

    def walk(self, start: tuple[float, float], n: int) -> list[dict]:
        """`n` fixes of a stroll from `start` (one a minute; about 3 % of them coarse)."""
        lon, lat = start
        t0 = datetime.now(timezone.utc) - timedelta(minutes=n)
        heading = self.rng.uniform(0, 2 * math.pi)
        out = []
        for i in range(n):
            heading += self.rng.gauss(0, 0.5)
            lon += 40 * math.cos(heading) / (111_320 * math.cos(math.radians(lat)))
            lat += 40 * math.sin(heading) / 111_320
            coarse = self.rng.random() < 0.03
            out.append({"lon": round(lon, 6), "lat": round(lat, 6),
                        "accuracy": self.rng.uniform(500, 3000) if coarse else round(self.rng.uniform(4, 30), 1),
                        "t": _iso(t0 + timedelta(minutes=i))})
        return out

    def shift(self, fixes: int = 20, checkins: int = 2) -> dict:
        """One working session; the counts of what was done."""
        grid = self.get("/api/field/grid")
        if not grid["grids"]:
            raise RuntimeError(f"{self.username}: 没有负责的网格")
        g = grid["grids"][0]
        done = {"patrols": 0, "checkins": 0, "events": 0, "visits": 0, "tasks_reported": 0}
        patrol = str(uuid.uuid4())
        started = _iso(datetime.now(timezone.utc) - timedelta(minutes=fixes))
        self.sync(self.record("patrol", {"started_at": started, "fixes": []}, grid=g["code"], uid=patrol))
        track = self.walk(tuple(g["center"]), fixes)
        here = {"lon": track[-1]["lon"], "lat": track[-1]["lat"], "accuracy": 12.0, "source": "gps"}
        visits = [h for h in grid["households"] if h["grid_code"] == g["code"]][:checkins]
        places = [p for p in grid.get("places", []) if p["grid_code"] == g["code"]][:1]
        safety = [p for p in grid.get("safety_places", []) if p["grid_code"] == g["code"]][:1]
        batch = [self.record("checkin", {"patrol_uuid": patrol, "kind": "household"}, household=h["id"],
                             location=here) for h in visits]
        batch += [self.record("checkin", {"patrol_uuid": patrol, "kind": "key_place", "place_id": p["id"]},
                              location=here) for p in places]
        batch += [self.record("checkin", {"patrol_uuid": patrol, "kind": "safety_place", "place_id": p["id"]},
                              location=here) for p in safety]
        batch.append(self.record("event", {"type": self.rng.choice(["safety", "public_order", "environment"]),
                                           "text": "巡查发现：" + self.rng.choice(["路灯损坏", "占道堆放杂物", "护栏松动"])},
                                 grid=g["code"], location=here))
        results = self.sync(*batch)
        done["checkins"] = sum(r["status"] == "created" for r in results[:-1])
        done["events"] = int(bool(results) and results[-1]["status"] == "created")
        r = self.http.get(self.url + "/api/field/followups", timeout=self.timeout)
        due = r.json() if r.status_code == 200 else {"records": []}  # without 特殊人群 permission: no visits
        if due["records"]:
            sp = due["records"][0]  # the most overdue
            res = self.sync(self.record("followup", {"special_person_id": sp["id"], "visited_on": due["today"],
                                                     "method": "visit", "note": "模拟随访：情况稳定"},
                                        grid=sp["grid_code"]))
            done["visits"] = int(bool(res) and res[0]["status"] == "created")
        # task steps as the phone sends them: write-once `task` records in one batch, each with the state it saw
        steps, seen = [], {"accept": "assigned", "handle": "accepted", "report": "handling"}
        for task in self.get("/api/field/tasks")["tasks"]:
            for action in {"assigned": ("accept", "handle", "report"), "accepted": ("handle", "report"),
                           "handling": ("report",)}.get(task["state"], ()):
                steps.append(self.record("task", {"task_id": task["id"], "action": action, "seen_state": seen[action],
                                                  "text": "已到场处置，情况已反馈" if action == "report" else ""},
                                         grid=task["grid_code"], location=here))
        if steps:
            res = self.sync(*steps)
            done["tasks_reported"] = sum(r["status"] == "created" and s["fields"]["action"] == "report"
                                         for r, s in zip(res, steps))
        ended = self.sync(self.record("patrol", {"started_at": started, "ended_at": _iso(datetime.now(timezone.utc)),
                                                 "fixes": track}, grid=g["code"], uid=patrol, base=1))
        done["patrols"] = int(bool(ended) and ended[0]["status"] == "updated")
        return done


def run(url: str, workers: list[str], password: str, *, fixes: int = 20, checkins: int = 2, seed: int = 1,
        replay: bool = False) -> dict:
    """All workers at once (one thread each); the summary."""
    def one(name: str) -> dict:
        try:
            phone = Phone(url, name, password, seed, replay)
            return {"worker": name, **phone.shift(fixes, checkins), **phone.count, "errors": phone.errors[:3]}
        except Exception as exc:  # a worker's failure is reported, not fatal to the others
            return {"worker": name, "errors": [f"{type(exc).__name__}: {exc}"[:200]]}

    with ThreadPoolExecutor(max(1, len(workers))) as pool:
        per = list(pool.map(one, workers))
    total = {k: sum(p.get(k, 0) for p in per) for k in ("patrols", "checkins", "events", "visits", "tasks_reported",
                                                         "sent", "created", "updated", "duplicate", "rejected")}
    return {"workers": len(workers), **total, "failed_workers": sum(bool(p["errors"]) for p in per), "per_worker": per}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m console.simulate_field", description="网格员手机端模拟器（经真实 HTTP 接口）")
    ap.add_argument("--url", required=True)
    ap.add_argument("--worker", action="append", required=True, help="网格员账号（可重复）")
    ap.add_argument("--password", required=True, help="这些账号的密码（已完成首次登录改密）")
    ap.add_argument("--fixes", type=int, default=20, help="每次巡查的定位点数")
    ap.add_argument("--checkins", type=int, default=2, help="每次巡查打卡的住户数")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--replay", action="store_true", help="每批发送两次（模拟丢失的应答）")
    args = ap.parse_args(argv)
    print(json.dumps(run(args.url, args.worker, args.password, fixes=args.fixes, checkins=args.checkins,
                         seed=args.seed, replay=args.replay), ensure_ascii=False))


if __name__ == "__main__":
    main()
