"""Frozen rankings at national scale: POST /rankings (document size and time) and its pages at 20,000 demo
facilities, and the exact budgeted selection over 20,000 candidates in 34 provinces — each beside the behaviour
before selections had strategies, measured in the same run (the baseline tree is `git archive`d from
--baseline-ref and served by the same interpreter; its selection module is imported from there).

Targets (issue 15): documents under 1 MB at any candidate count; selection proven optimal in ≤ 5 s.
Targets (issue 21): with every bound (per province, per sector, per kind, max_projects, min_provinces,
eligibility) the optimum is proven in ≤ 5 s at 20,000 candidates; the comparison of both strategies (always in a
budgeted ranking) adds ≤ 20 % to POST /rankings: the same request against the tree before it, which computes no
comparison, and, in process, select() with and without `compare` on the same inputs.
Usage: python bench/selection.py [--facilities 20000] [--candidates 20000] [--baseline-ref REF | --no-baseline]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, demo, fresh_db, make_key, median, report, server  # noqa: E402

# A request both trees accept (point-project v2's support cost prices the candidates); the baseline computes no
# comparison and no passed-over reasons, this tree does both.
BODY = {
    "profile": "point-project",
    "profile_version": 2,
    "budget_vnd": 20_000_000_000,
    "per_province": {"min": 1},
}


# -- the baseline: another tree of the same repository, run by this interpreter ------------------------------


def baseline_tree(ref: str, stack: ExitStack) -> Path:
    where = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="kc-baseline-")))
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    (where / "data").mkdir(exist_ok=True)
    return where


def tree_run(tree: Path, args: list[str], url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{args} failed in {tree}: {out.stderr[-2000:]}")
    return out.stdout


CLI = ["-c", "import sys; from app.cli import main; sys.argv[0] = 'khuyencong'; main()"]


def tree_db(tree: Path, facilities: int) -> tuple[str, str, list[str]]:
    url = f"sqlite:///{tree / 'data' / 'bench-selection-baseline.db'}"
    tree_run(tree, ["-m", "alembic", "upgrade", "head"], url)
    tree_run(tree, [*CLI, "demo-data", "--facilities", str(facilities), "--seed", "9"], url)
    key = (
        tree_run(tree, [*CLI, "keys", "create", "--role", "planner", "--name", "bench"], url)
        .strip()
        .splitlines()[-1]
    )
    return url, key, [sys.executable, "-P", *CLI, "serve"]  # -P: the tree (PYTHONPATH), not the cwd


# -- POST /rankings and the pages --------------------------------------------------------------------------


def rankings_http(base: str, key: str, paged: bool) -> dict[str, Any]:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=1800) as c:
        posts = []
        for _ in range(3):  # the median of three
            t = time.perf_counter()
            r = c.post("/api/v1/rankings", json=BODY)
            posts.append(time.perf_counter() - t)
        post_s = median(posts)
        assert r.status_code == 201, r.text[:2000]
        doc = r.json()
        t = time.perf_counter()
        g = c.get(f"/api/v1/rankings/{doc['id']}")
        get_s = time.perf_counter() - t
        assert g.status_code == 200
        sel = doc["selection"]
        out = {"candidates": doc["candidates"], "post_s": round(post_s, 2), "post_bytes": len(r.content),
               "comparison": "comparison" in sel,
               "get_s": round(get_s, 3), "get_bytes": len(g.content), "objective": sel["objective"],
               "selected": sel.get("selected_count", len(sel.get("selected", []))),
               "solver_s": sel["solver"]["seconds"], "status": sel["solver"]["status"]}  # fmt: skip
        if paged:  # a page of 100 items from the middle, and of the selection
            cursor = doc["items_next_cursor"]
            times = []
            for _ in range(5):
                t = time.perf_counter()
                p = c.get(f"/api/v1/rankings/{doc['id']}/items", params={"cursor": cursor, "limit": 100})
                times.append(time.perf_counter() - t)
                assert p.status_code == 200
                cursor = p.json()["next_cursor"]
            out["items_page_ms"] = round(median(times) * 1000, 1)
            out["items_page_bytes"] = len(p.content)
            t = time.perf_counter()
            s = c.get(f"/api/v1/rankings/{doc['id']}/selection", params={"limit": 100})
            out["selection_page_ms"] = round((time.perf_counter() - t) * 1000, 1)
            assert s.status_code == 200
        return out


# -- the selection alone -----------------------------------------------------------------------------------


SECTORS = ("textiles_garments", "mechanical_engineering", "agro_food_processing", "handicrafts", "building_materials",
           "other")  # fmt: skip
KINDS = ("demonstration_model", "production_line", "advanced_machinery")


def instance(n: int) -> tuple[list[dict[str, Any]], dict[str, float | None], int]:
    from app.places.service import provinces

    rnd = random.Random(11)
    codes = list(provinces())[:34]
    items, costs = [], {}
    for i in range(n):
        fid = f"f{i:06d}"
        items.append({"rank": i + 1, "score": round(1 - i / n + rnd.random() * 0.01, 6),
                      "facility": {"id": fid, "province_code": codes[i % 34], "sector": SECTORS[rnd.randrange(6)]}})  # fmt: skip
        costs[fid] = rnd.randint(50, 2000) * 1_000_000
    return items, costs, int(sum(c for c in costs.values() if c) * 0.1)


def every_bound(n: int) -> dict[str, Any]:
    """Each bound of a budgeted selection, set so that each one matters at n candidates."""
    from app.prioritisation.selection import Eligibility, Limits

    return {"limits": Limits(province_min=2, province_max=max(2, int(n * 0.006)), sector_min=5, sector_max=int(n * 0.03),
                             kind=(("demonstration_model", 20, int(n * 0.01)), ("production_line", None, int(n * 0.02))),
                             max_projects=int(n * 0.09), min_provinces=34),
            "eligibility": Eligibility(max_cost_vnd=1_800_000_000, min_score=0.05),
            "kinds": {f"f{i:06d}": KINDS[i % 3] for i in range(n)}}  # fmt: skip


def solve_bounded(n: int, strategy: str, compare: bool) -> dict[str, Any]:
    from app.prioritisation.selection import select

    items, costs, budget = instance(n)
    t = time.perf_counter()
    res = select(items, costs, budget, strategy=strategy, compare=compare, **every_bound(n))
    return {"seconds": round(time.perf_counter() - t, 2), "status": res["solver"]["status"],
            "mip_gap": res["solver"].get("mip_gap"), "core": res["solver"].get("core"), "total_score": res["total_score"],
            "selected": len(res["selected"]), "binding": len(res["binding_constraints"]),
            "passed_over": len(res["passed_over"])}  # fmt: skip


def solve_with(select: Any, n: int) -> dict[str, Any]:
    items, costs, budget = instance(n)
    t = time.perf_counter()
    res = select(items, costs, budget, province_min=2, province_max=max(2, int(n * 0.006)))
    took = time.perf_counter() - t
    return {"seconds": round(took, 2), "status": res["solver"]["status"], "objective": res["objective"],
            "selected": len(res["selected"]), "ranks": [s["rank"] for s in res["selected"]]}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facilities", type=int, default=20000)
    ap.add_argument("--candidates", type=int, default=20000)
    ap.add_argument(
        "--baseline-ref", default="6a0882d", help="the tree before selection strategies and their comparison"
    )
    ap.add_argument("--no-baseline", action="store_true")
    args = ap.parse_args()
    from app.prioritisation.selection import select

    rows: list[tuple[str, str]] = []
    figures: dict[str, Any] = {"bench": "selection"}
    with ExitStack() as stack:
        tree = None if args.no_baseline else baseline_tree(args.baseline_ref, stack)
        # 1. the selection alone, 34 provinces, 2..0.6 % of the candidates each
        ours = solve_with(select, args.candidates)
        ours.update(
            seconds=median(
                [ours["seconds"], *(solve_with(select, args.candidates)["seconds"] for _ in range(2))]
            )
        )
        figures["selection"] = {
            "candidates": args.candidates,
            "provinces": 34,
            "ours": {k: v for k, v in ours.items() if k != "ranks"},
        }
        line = f"{args.candidates} candidates, 34 provinces: {ours['status']} in {ours['seconds']:.2f} s (target ≤ 5 s)"
        if tree is not None:
            spec = importlib.util.spec_from_file_location(
                "baseline_selection", tree / "app/prioritisation/selection.py"
            )
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            base = solve_with(module.select, args.candidates)
            same = base["ranks"] == ours["ranks"] and base["objective"] == ours["objective"]
            figures["selection"]["baseline"] = {k: v for k, v in base.items() if k != "ranks"}
            figures["selection"]["same_selection"] = same
            line += f"; {args.baseline_ref}: {base['seconds']:.2f} s; same objective and set: {same}"
        rows.append(("selection", line))
        # 1b. every bound at once, both strategies, and what the comparison costs (in process, same inputs)
        bounded = {name: [solve_bounded(args.candidates, *name_args) for _ in range(3)]
                   for name, name_args in (("optimum", ("max_total_score", False)), ("rank_order", ("rank_order", False)),
                                           ("optimum+comparison", ("max_total_score", True)))}  # fmt: skip
        med = {k: median([r["seconds"] for r in v]) for k, v in bounded.items()}
        opt = bounded["optimum"][0]
        figures["every_bound"] = {"candidates": args.candidates, "median_s": med, "optimum": opt,
                                  "rank_order": bounded["rank_order"][0]}  # fmt: skip
        rows.append(("every bound, optimum", f"{opt['status']} (gap {opt['mip_gap']}, core {opt['core']}) in {med['optimum']:.2f} s "
                     f"(median of 3; target ≤ 5 s); {opt['selected']} selected, {opt['binding']} binding"))  # fmt: skip
        rows.append(("every bound, rank order", f"{med['rank_order']:.2f} s; total score {bounded['rank_order'][0]['total_score']:.3f} "
                     f"≤ optimum {opt['total_score']:.3f}"))  # fmt: skip
        rows.append(("every bound, optimum + comparison", f"{med['optimum+comparison']:.2f} s "
                     f"({med['optimum+comparison'] / med['optimum']:.2f}× the optimum alone)"))  # fmt: skip
        # 2. POST /rankings over the demo facilities
        url = fresh_db("selection")
        demo(url, args.facilities, seed=9)
        key = make_key(url, "planner", "bench")
        with server(url) as (base_url, _):
            got = rankings_http(base_url, key, paged=True)
        figures["rankings"] = {"facilities": args.facilities, "ours": got}
        rows.append((f"POST /rankings, {args.facilities} facilities",
                     f"{got['post_bytes'] / 1e6:.2f} MB in {got['post_s']:.2f} s ({got['candidates']} candidates, "
                     f"{got['selected']} selected, solver {got['solver_s']} s)"))  # fmt: skip
        rows.append(
            (
                "GET /rankings/{id}",
                f"{got['get_bytes'] / 1e6:.2f} MB in {got['get_s'] * 1000:.0f} ms (target < 1 MB)",
            )
        )
        rows.append(
            (
                "pages of 100",
                f"items {got['items_page_ms']} ms ({got['items_page_bytes'] / 1e3:.0f} kB), selection {got['selection_page_ms']} ms",
            )
        )
        if tree is not None:
            b_url, b_key, b_cmd = tree_db(tree, args.facilities)
            with server(b_url, extra_env={"PYTHONPATH": str(tree)}, app=b_cmd) as (base_url, _):
                old = rankings_http(base_url, b_key, paged=False)
            figures["rankings"]["baseline"] = old
            rows.append(
                (
                    f"  {args.baseline_ref}: POST /rankings",
                    f"{old['post_bytes'] / 1e6:.2f} MB in {old['post_s']:.2f} s (solver {old['solver_s']} s)",
                )
            )
            rows.append(
                (
                    f"  {args.baseline_ref}: GET /rankings/{{id}}",
                    f"{old['get_bytes'] / 1e6:.2f} MB in {old['get_s'] * 1000:.0f} ms",
                )
            )
            figures["rankings"]["same_objective"] = old["objective"] == got["objective"]
            figures["rankings"]["post_ratio"] = round(got["post_s"] / old["post_s"], 3)
            rows.append(("  same selection objective", str(old["objective"] == got["objective"])))
            rows.append(("  POST /rankings with the comparison / without (baseline)",
                         f"{got['post_s']:.2f} s / {old['post_s']:.2f} s = {got['post_s'] / old['post_s']:.2f}× (target ≤ 1.20×)"))  # fmt: skip
    report("Frozen rankings: bounded documents and the exact selection (SQLite, one worker)", rows, figures)


if __name__ == "__main__":
    main()
