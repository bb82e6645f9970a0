"""Campaigns at scale: bulk enrollment, the campaign sweep's cost, step 0 through the pipeline, and the
schedule the pacing computes with real gaps.

    .venv/bin/python bench/campaign.py [--leads 10000] [--lines 20] [--pipeline-leads 1000]
                                       [--schedule-leads 1000] [--schedule-lines 3] [--gaps 30:0,30:45] [--json]

One fresh database (tuco_bench_campaign) and redis-server, one relay simulator process per line (one
simulator = one device), the ops commands for workspaces and lines. A 3-step campaign (waits of 2 and 3
days). Four parts, each in its own workspace:

  (a) enrollment   --leads leads of a list into a draft campaign on --lines lines (gaps 0): the bulk
                   form `enroll_bulk`, once with {listId} (one call) and once with {leadIds} (calls of
                   1,000, the API's maximum); --repeat-enroll times each, the enrollments deleted between.
  (b) sweep cost   `campaigns.engine.sweep_due_enrollments`, one call, median of --repeat, in four states
                   of a list campaign: empty table, 100 due only, 10,000 waiting for a later step + 100
                   due, 10,000 waiting only. Each timed call really creates the due leads' step-0 messages
                   (and publishes their dispatch tasks to Redis); between calls they are deleted and the
                   100 enrollments made due again.
  (c) pipeline     the (a) campaign launched with a celery worker, celery beat (campaign and message
                   sweeps every --sweep-interval s) and the relay simulators running: step-0 messages per
                   second from launch to the last `sentAt`.
  (d) schedule     --schedule-leads leads on --schedule-lines lines with real device / contact gaps (each
                   pair of --gaps), caps far above: the real sweep and send path (relay simulators
                   included) run under time-machine, the clock jumping to the next `next_attempt_at` the
                   pacing computed, so hours of gaps take a minute. Reported: when the last step-0 message
                   is sent against the theoretical minimum (ceil(leads / lines) − 1) × gap.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import statistics
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    BIN,
    LOGS,
    PYTHON,
    CpuMeter,
    Proc,
    bench_env,
    cleanup_on_sigterm,
    create_database,
    descendants,
    drop_database,
    emit,
    free_port,
    fresh_log_dir,
    machine_info,
    migrate,
    postgres_backends,
    print_machine,
    print_table,
    progress,
    start_redis,
    wait_until,
)
from bench.recipients import bench_phone
from bench.sweep import command, setup_django

LOG_DIR = LOGS / "campaign"
DB_NAME = "tuco_bench_campaign"
PASSWORD = "sim-password"
DAY = 86400
STEPS = [{"message": "Hi {firstName|there}, {line_name} from Acme here. Got a minute this week?"},
         {"message": "Following up, {firstName|there} - any thoughts?", "waitSeconds": 2 * DAY},
         {"message": "Last note from me.", "waitSeconds": 3 * DAY, "onlyIfNoReply": True}]
SWEEP_DUE = 100
SWEEP_BACKLOG = 10_000
HIGH_CAP = "1000000"
TARGET_SWEEP_RATIO = 2.0
_LINE_NUMBERS = itertools.count()


# --- set-up ----------------------------------------------------------------------------------------------

def start_relays(count: int, env: dict[str, str], exits: ExitStack, prefix: str) -> tuple[list[str], list[int]]:
    """`count` relay simulators (answer a send in 2 ms, never report delivery: no web server to call);
    their URLs and process ids."""
    urls, pids = [], []
    for i in range(count):
        port = free_port()
        sim = Proc(f"{prefix}-{i}", [PYTHON, "-m", "devtools.relay_simulator", "--host", "127.0.0.1", "--port",
                                     str(port), "--password", PASSWORD, "--quiet", "--send-delay-ms", "2",
                                     "--deliver-after-ms", "-1"], env, log_dir=LOG_DIR).start()
        exits.callback(sim.stop)
        urls.append(f"http://127.0.0.1:{port}")
        pids.append(sim.pid)
    for url in urls:
        wait_until(lambda u=url: requests.get(f"{u}/sim/v1/health", timeout=1).ok, timeout=30, what=f"relay {url}")
    return urls, pids


def make_workspace(name: str, relay_urls: list[str], *, device_gap: int, contact_gap: int) -> tuple[Any, list[str]]:
    """A workspace and one line per relay, with caps far above anything the benchmark sends."""
    from tuco.models import Workspace

    workspace = command("create_workspace", name)
    line_ids = []
    for url in relay_urls:
        line = command("add_line", "--workspace", workspace["id"], "--phone", f"+1415556{next(_LINE_NUMBERS):04d}",
                       "--relay-url", url, "--relay-password", PASSWORD, "--no-register-webhook",
                       "--device-gap-seconds", str(device_gap), "--contact-gap-seconds", str(contact_gap),
                       "--daily-total", HIGH_CAP, "--daily-new", HIGH_CAP, "--hourly-first-touch", HIGH_CAP)
        line_ids.append(line["id"])
    return Workspace.objects.get(pk=workspace["id"]), line_ids


def make_leads(workspace: Any, name: str, count: int) -> tuple[str, list[str]]:
    """A lead list of `count` leads with distinct phones; returns (list id, lead ids in creation order)."""
    from leads.models import Lead, LeadList
    from tuco.ids import new_id

    lead_list = LeadList.objects.create(workspace=workspace, name=name)
    leads = [Lead(id=new_id(), workspace=workspace, list=lead_list, first_name=f"Lead{n}", last_name="Bench",
                  phone=bench_phone(n), source="bench")
             for n in range(count)]
    Lead.objects.bulk_create(leads, batch_size=2000)
    return lead_list.pk, [lead.pk for lead in leads]


def make_campaign(workspace: Any, name: str, line_ids: list[str], list_id: str | None) -> Any:
    from campaigns.input import parse_campaign
    from campaigns.services import campaign_create

    body: dict[str, Any] = {"name": name, "steps": STEPS, "lineIds": line_ids}
    if list_id:
        body["listId"] = list_id
    return campaign_create(workspace=workspace, data=parse_campaign(body, creating=True))


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("campaigns_enrollment", "messaging_message", "leads_lead"):
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- (a) enrollment --------------------------------------------------------------------------------------

def part_enroll(workspace: Any, line_ids: list[str], count: int, repeat: int) -> dict[str, Any]:
    from campaigns.models import Enrollment
    from campaigns.services import MAX_BULK, campaign_delete, enroll_bulk

    progress(f"(a) creating {count:,} leads")
    list_id, lead_ids = make_leads(workspace, "campaign bench", count)
    campaign = make_campaign(workspace, "Bench campaign", line_ids, list_id)
    by_ids = make_campaign(workspace, "Bench campaign, leadIds", line_ids, None)
    results: dict[str, list[float]] = {"listId": [], "leadIds": []}
    enrolled: dict[str, int] = {}
    for i in range(repeat):
        for form, target in (("listId", campaign), ("leadIds", by_ids)):
            Enrollment.objects.filter(campaign=target).delete()
            vacuum_analyze()
            progress(f"(a) enroll_bulk {{{form}}} {count:,} leads, run {i + 1}/{repeat}")
            started = time.perf_counter()
            if form == "listId":
                answer = enroll_bulk(workspace=workspace, campaign_id=target.pk, data={"listId": list_id})
                total = answer["enrolled"]
            else:
                total = 0
                for first in range(0, count, MAX_BULK):
                    answer = enroll_bulk(workspace=workspace, campaign_id=target.pk,
                                         data={"leadIds": lead_ids[first:first + MAX_BULK]})
                    total += answer["enrolled"]
            results[form].append(time.perf_counter() - started)
            enrolled[form] = total
    campaign_delete(workspace=workspace, campaign_id=by_ids.pk)  # keeps (c) to one campaign's steps
    states = Counter(Enrollment.objects.filter(campaign=campaign).values_list("state", flat=True))
    return {"campaign": campaign, "leadIds": lead_ids, "leads": count, "lines": len(line_ids),
            "calls": {"listId": 1, "leadIds": math.ceil(count / MAX_BULK)},
            "enrolled": enrolled, "states": dict(states),
            "seconds": {form: {"median": statistics.median(v), "min": min(v), "max": max(v), "runs": len(v)}
                        for form, v in results.items()}}


# --- (b) sweep cost --------------------------------------------------------------------------------------

def part_sweep(relay_url: str, repeat: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from campaigns.engine import sweep_due_enrollments
    from campaigns.models import Campaign, Enrollment
    from campaigns.services import enroll_many
    from messaging.models import Message

    workspace, line_ids = make_workspace("bench-campaign-sweep", [relay_url], device_gap=0, contact_gap=0)
    progress(f"(b) creating {SWEEP_BACKLOG + SWEEP_DUE:,} leads")
    list_id, lead_ids = make_leads(workspace, "sweep bench", SWEEP_BACKLOG + SWEEP_DUE)
    campaign = make_campaign(workspace, "Sweep bench", line_ids, list_id)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE, launched_at=timezone.now())
    due_leads, backlog_leads = lead_ids[:SWEEP_DUE], lead_ids[SWEEP_DUE:]
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])

    def make_due() -> None:
        Message.objects.filter(campaign_id=campaign.pk).delete()
        Enrollment.objects.filter(campaign=campaign, lead_id__in=due_leads).update(
            state=Enrollment.State.SCHEDULED, next_step=0, message_id="", next_at=timezone.now() - timedelta(seconds=1))
        broker.flushdb()

    def measure(name: str, *, due: bool) -> dict[str, Any]:
        vacuum_analyze()
        progress(f"(b) {name}: sweep x{repeat}")
        times, counts, queries = [], None, 0
        for i in range(repeat + 1):
            if due:
                make_due()
            if i == 0:  # untimed warm-up: count its statements
                with CaptureQueriesContext(connection) as captured:
                    counts = sweep_due_enrollments()
                queries = len(captured.captured_queries)
                continue
            started = time.perf_counter()
            counts = sweep_due_enrollments()
            times.append((time.perf_counter() - started) * 1000)
        if due:
            make_due()
        enrolled = Enrollment.objects.filter(campaign=campaign).count()
        return {"state": name, "enrolled": enrolled, "created": (counts or {}).get("created", 0), "queries": queries,
                "medianMs": statistics.median(times), "minMs": min(times), "maxMs": max(times)}

    rows = [measure("empty", due=False)]
    enroll_many(campaign=campaign, lead_ids=due_leads, lead_list_id=None)
    rows.append(measure(f"{SWEEP_DUE} due only", due=True))
    enroll_many(campaign=campaign, lead_ids=backlog_leads, lead_list_id=None)
    with connection.cursor() as cursor:  # waiting for step 1 or 2, due 1-3 days from now
        cursor.execute("UPDATE campaigns_enrollment SET next_step = 1 + (random() < 0.5)::int, "
                       "next_at = now() + interval '1 day' + random() * interval '2 days', last_sent_at = now() "
                       "WHERE campaign_id = %s AND lead_id = ANY(%s)", [campaign.pk, backlog_leads])
    rows.append(measure(f"{SWEEP_BACKLOG:,} waiting + {SWEEP_DUE} due", due=True))
    Enrollment.objects.filter(campaign=campaign, lead_id__in=due_leads).update(
        next_step=1, next_at=timezone.now() + timedelta(days=2))
    rows.append(measure(f"{SWEEP_BACKLOG:,} waiting only", due=False))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ARCHIVED)
    Enrollment.objects.filter(campaign=campaign).delete()
    Message.objects.filter(campaign_id=campaign.pk).delete()
    broker.flushdb()
    empty, due_only, both, backlog = (row["medianMs"] for row in rows)
    checks = [("10k waiting + 100 due / 100 due only", both / due_only),
              ("10k waiting only / empty", backlog / empty),
              ("10k waiting + 100 due / empty (as asked)", both / empty)]
    return {"rows": rows, "checks": checks, "repeat": repeat}


# --- (c) pipeline ----------------------------------------------------------------------------------------

def start_worker(env: dict[str, str], redis_url: str, pool: str, concurrency: int, exits: ExitStack) -> Proc:
    worker = Proc(f"worker-{pool}-{concurrency}", [str(BIN / "celery"), "-A", "tuco", "worker", "--pool", pool,
                                                   "--concurrency", str(concurrency), "--loglevel", "WARNING",
                                                   "--without-gossip", "--without-mingle"],
                  env, log_dir=LOG_DIR).start()
    exits.callback(worker.stop)
    client = redis.Redis.from_url(redis_url)

    def consuming() -> bool:
        if not worker.alive:
            raise RuntimeError(f"worker exited, see {worker.log_path}")
        return any(c.get("cmd") == "brpop" for c in client.client_list())

    wait_until(consuming, timeout=60, what="worker consuming")
    return worker


def part_pipeline(enrolled: dict[str, Any], env: dict[str, str], args: argparse.Namespace,
                  relay_procs: list[int], exits: ExitStack) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Max, Min

    from campaigns.models import Enrollment
    from campaigns.services import campaign_launch
    from messaging.models import Message

    campaign = enrolled["campaign"]
    count = min(args.pipeline_leads, enrolled["leads"])
    if count < enrolled["leads"]:  # a subset: the other leads leave the list (launch enrolls it) and the campaign
        from leads.models import Lead

        others = enrolled["leadIds"][count:]
        Lead.objects.filter(pk__in=others).update(list=None)
        Enrollment.objects.filter(campaign=campaign, lead_id__in=others).delete()
    broker = redis.Redis.from_url(env["REDIS_URL"])
    broker.flushdb()
    pool, concurrency = args.worker.split(":")
    progress(f"(c) starting celery worker ({args.worker}) and beat (sweeps every {args.sweep_interval:g}s)")
    beat = Proc("beat", [str(BIN / "celery"), "-A", "tuco", "beat", "--loglevel", "WARNING"], env,
                log_dir=LOG_DIR).start()
    exits.callback(beat.stop)
    worker = start_worker(env, env["REDIS_URL"], pool, int(concurrency), exits)
    meter = CpuMeter(lambda: {"worker": descendants(worker.pid), "beat": descendants(beat.pid),
                              "relays": relay_procs, "postgres": postgres_backends(env["DATABASE_URL"])})
    meter.start()
    progress(f"(c) launching the campaign: {count:,} leads, step 0 on {enrolled['lines']} lines")
    launched = time.time()
    campaign_launch(workspace=campaign.workspace, campaign_id=campaign.pk)
    messages = Message.objects.filter(campaign_id=campaign.pk, step_index=0)
    deadline = time.monotonic() + args.timeout
    done, last_note = 0, 0.0
    while time.monotonic() < deadline:
        statuses = Counter(messages.values_list("status", flat=True))
        done = statuses["sent"] + statuses["delivered"] + statuses["failed"]
        if done >= count:
            break
        if time.monotonic() - last_note > 15:
            progress(f"(c) {dict(statuses)}")
            last_note = time.monotonic()
        time.sleep(0.5)
    cpu = meter.stop()
    worker.stop()
    beat.stop()
    span = messages.filter(sent_at__isnull=False).aggregate(first_created=Min("created_at"),
                                                            last_created=Max("created_at"), last_sent=Max("sent_at"))
    sent = messages.filter(sent_at__isnull=False).count()
    with connection.cursor() as cursor:  # why step-0 messages waited (-> queued events)
        cursor.execute("SELECT e.reason, count(*) FROM messaging_messageevent e JOIN messaging_message m "
                       "ON m.id = e.message_id WHERE m.campaign_id = %s AND e.to_status = 'queued' "
                       "GROUP BY e.reason ORDER BY 2 DESC", [campaign.pk])
        waits = dict(cursor.fetchall())
    elapsed = span["last_sent"].timestamp() - launched if span["last_sent"] else float("nan")
    from_first = (span["last_sent"] - span["first_created"]).total_seconds() if span["last_sent"] else float("nan")
    return {"leads": count, "subset": count < enrolled["leads"], "sent": sent, "worker": args.worker,
            "statuses": dict(Counter(messages.values_list("status", flat=True))), "waits": waits,
            "elapsedS": elapsed, "msgPerSec": sent / elapsed if elapsed > 0 else 0.0,
            "fromFirstCreatedS": from_first, "msgPerSecFromFirstCreated": sent / from_first if from_first > 0 else 0.0,
            "creationSpanS": (span["last_created"] - span["first_created"]).total_seconds() if sent else None,
            "machineBusyPct": cpu["machineBusyPct"], "cpuSeconds": {k: round(v, 1) for k, v in cpu["seconds"].items()},
            "timedOut": done < count}


# --- (d) schedule with real gaps -------------------------------------------------------------------------

def part_schedule(relay_urls: list[str], leads: int, device_gap: int, contact_gap: int) -> dict[str, Any]:
    """Step 0 for `leads` leads on len(relay_urls) lines, the clock moved by time-machine to each next attempt."""
    import time_machine
    from django.db.models import Max, Min
    from django.utils import timezone

    from campaigns.engine import sweep_due_enrollments
    from campaigns.services import campaign_delete, campaign_launch
    from messaging.models import CLAIMABLE, Message
    from messaging.send.dispatcher import send_message

    label = f"device {device_gap}s / contact {contact_gap}s"
    workspace, line_ids = make_workspace(f"bench-schedule-{device_gap}-{contact_gap}", relay_urls,
                                         device_gap=device_gap, contact_gap=contact_gap)
    list_id, _ = make_leads(workspace, "schedule bench", leads)
    campaign = make_campaign(workspace, "Schedule bench", line_ids, list_id)
    broker = redis.Redis.from_url(os.environ["REDIS_URL"])
    messages = Message.objects.filter(campaign_id=campaign.pk, step_index=0)
    start = timezone.now().replace(microsecond=0) + timedelta(seconds=5)
    dispatches, instants, outcomes = 0, 0, Counter()
    progress(f"(d) {label}: {leads} leads on {len(line_ids)} lines, simulated clock")
    with time_machine.travel(start, tick=False) as clock:
        campaign_launch(workspace=workspace, campaign_id=campaign.pk)
        created = sweep_due_enrollments()["created"]
        predicted = None
        while True:
            now = timezone.now()
            for _ in range(20):  # a message woken to `now` by another's send goes in the same instant
                due = list(messages.filter(status__in=CLAIMABLE, next_attempt_at__lte=now)
                           .order_by("next_attempt_at", "id").values_list("id", flat=True))
                if not due:
                    break
                for message_id in due:
                    outcomes[send_message(message_id)] += 1
                    dispatches += 1
            instants += 1
            broker.flushdb()  # the dispatch tasks the send path published: no worker here, the loop is it
            if predicted is None:  # the pacing's own answer after one pass: when the last one is parked
                predicted = messages.filter(status__in=CLAIMABLE).aggregate(last=Max("next_attempt_at"))["last"]
            following = messages.filter(status__in=CLAIMABLE).aggregate(next=Min("next_attempt_at"))["next"]
            if following is None:
                break
            clock.move_to(max(following, now + timedelta(milliseconds=1)))
            if instants % 200 == 0:
                progress(f"(d) {label}: simulated +{(now - start).total_seconds():,.0f}s, "
                         f"{messages.filter(status='sent').count()} sent")
        per_line = dict(Counter(messages.filter(status="sent").values_list("line_id", flat=True)))
        last_sent = messages.aggregate(last=Max("sent_at"))["last"]
        statuses = dict(Counter(messages.values_list("status", flat=True)))
        campaign_delete(workspace=workspace, campaign_id=campaign.pk)  # archived: its later steps never come due
    broker.flushdb()
    gap = max(device_gap, contact_gap)  # every step-0 send is a new conversation: both gaps bind
    minimum = (math.ceil(leads / len(line_ids)) - 1) * gap
    finish = (last_sent - start).total_seconds() if last_sent else float("nan")
    return {"gaps": label, "deviceGap": device_gap, "contactGap": contact_gap, "bindingGap": gap, "leads": leads,
            "lines": len(line_ids), "created": created, "statuses": statuses, "perLine": sorted(per_line.values()),
            "finishS": finish, "minimumS": minimum, "differenceS": finish - minimum,
            "differenceGaps": (finish - minimum) / gap if gap else float("nan"),
            "predictedS": (predicted - start).total_seconds() if predicted else None,
            "dispatches": dispatches, "instants": instants, "outcomes": dict(outcomes),
            "met": finish - minimum <= device_gap}


# --- output ----------------------------------------------------------------------------------------------

def human(result: dict[str, Any]) -> None:
    print_machine(result["machine"])
    a = result["enroll"]
    print(f"\n(a) enrollment: {a['leads']:,} leads into a draft 3-step campaign on {a['lines']} lines (gaps 0), "
          f"campaigns.services.enroll_bulk, median of {a['seconds']['listId']['runs']} runs")
    print_table([{"form": f"{{{form}}}", "calls": a["calls"][form], "enrolled": a["enrolled"][form],
                  "medianS": s["median"], "minS": s["min"], "maxS": s["max"],
                  "leadsPerSec": round(a["enrolled"][form] / s["median"])} for form, s in a["seconds"].items()])
    b = result["sweep"]
    print(f"\n(b) campaign sweep: campaigns.engine.sweep_due_enrollments, one call, median of {b['repeat']} "
          f"(each creates the due leads' step-0 messages and publishes their dispatch tasks to Redis)")
    print_table(b["rows"])
    for name, ratio in b["checks"]:
        verdict = "met" if ratio <= TARGET_SWEEP_RATIO else "MISSED"
        print(f"  {name:44} {ratio:7.2f}x  target <= {TARGET_SWEEP_RATIO:g}x  {verdict}")
    c = result["pipeline"]
    subset = (f" (a subset of the {a['leads']:,} enrolled, removed from list and campaign before launch: "
              "all of them take too long on 2 cores)"
              if c["subset"] else "")
    print(f"\n(c) pipeline: step 0 of {c['leads']:,} leads{subset} on {a['lines']} lines / relay simulators, "
          f"celery worker {c['worker']}, beat sweeping every {result['setup']['sweepInterval']:g}s")
    print(f"  {c['sent']:,} sent in {c['elapsedS']:.1f}s from launch: {c['msgPerSec']:.1f} messages/s "
          f"({c['msgPerSecFromFirstCreated']:.1f}/s from the first message created; the sweeps created them over "
          f"{c['creationSpanS'] or 0:.1f}s){'  TIMED OUT' if c['timedOut'] else ''}")
    print(f"  waits (-> queued events): {c['waits'] or 'none'}")
    print(f"  statuses {c['statuses']}; cpu s {c['cpuSeconds']}; machine busy {c['machineBusyPct']:.0f}%")
    print("\n(d) schedule with real gaps: the real campaign sweep and send path (relay simulators included) under "
          "time-machine;\n    the clock jumps to the earliest next_attempt_at the pacing computed, so no gap is "
          "waited in real time.\n    minimum = (ceil(leads / lines) - 1) x gap, gap = max(device, contact) since "
          "every step-0 send is a new conversation;\n    'parked at t0' = the latest next_attempt_at after the "
          "first pass (the pacing's own forecast)")
    print_table([{"gaps": d["gaps"], "leads": d["leads"], "lines": d["lines"], "sent": d["statuses"].get("sent", 0),
                  "perLine": "/".join(map(str, d["perLine"])), "finishS": d["finishS"], "minimumS": d["minimumS"],
                  "diffS": d["differenceS"], "diffGaps": d["differenceGaps"], "parkedAtT0S": d["predictedS"],
                  "dispatches": d["dispatches"],
                  "withinOneDeviceGap": "met" if d["met"] else "MISSED"} for d in result["schedule"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--repeat-enroll", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10, help="timed sweep calls per state")
    parser.add_argument("--pipeline-leads", type=int, default=1000,
                        help="leads of the (a) campaign launched in (c); all 10,000 take ~30 min on 2 cores")
    parser.add_argument("--worker", default="threads:8", help="pool:concurrency of the celery worker")
    parser.add_argument("--sweep-interval", type=float, default=2, help="TUCO_SWEEP_INTERVAL_SECONDS in (c)")
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting for (c) after this long")
    parser.add_argument("--schedule-leads", type=int, default=1000)
    parser.add_argument("--schedule-lines", type=int, default=3)
    parser.add_argument("--gaps", default="30:0,30:45", help="device:contact gap pairs (s) for (d)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cleanup_on_sigterm()
    gaps = [tuple(int(v) for v in pair.split(":")) for pair in args.gaps.split(",")]

    info = machine_info()
    fresh_log_dir(LOG_DIR)
    progress(f"logs in {LOG_DIR}")
    with ExitStack() as exits:
        database_url = create_database(DB_NAME)
        exits.callback(drop_database, database_url)
        redis_proc, redis_url = start_redis(LOG_DIR)
        exits.callback(redis_proc.stop)
        env = bench_env(database_url, redis_url, TUCO_SWEEP_INTERVAL_SECONDS=str(args.sweep_interval))
        progress(f"migrating {DB_NAME}")
        migrate(env)
        relays, relay_pids = start_relays(args.lines, env, exits, "relay")
        schedule_relays, _ = start_relays(args.schedule_lines, env, exits, "schedule-relay")
        setup_django(env)
        from django.db import connections

        exits.callback(connections.close_all)  # before the database is dropped
        sweep = part_sweep(relays[0], args.repeat)
        schedule = [part_schedule(schedule_relays, args.schedule_leads, d, c) for d, c in gaps]
        workspace, line_ids = make_workspace("bench-campaign", relays, device_gap=0, contact_gap=0)
        enroll = part_enroll(workspace, line_ids, args.leads, args.repeat_enroll)
        pipeline = part_pipeline(enroll, env, args, relay_pids, exits)
    enroll.pop("campaign"), enroll.pop("leadIds")
    result = {"benchmark": "campaign", "machine": info,
              "setup": {"leads": args.leads, "lines": args.lines, "sweepInterval": args.sweep_interval,
                        "worker": args.worker},
              "enroll": enroll, "sweep": sweep, "pipeline": pipeline, "schedule": schedule}
    emit(result, as_json=args.json, human=human)


if __name__ == "__main__":
    main()
