"""``python -m course_lib run | sweep | claims | report | refresh | kernel | speed | site | slides | student | grade``: the course's command line.

    python -m course_lib run --profile default            # the whole course into runs/default
    python -m course_lib run --profile smoke --only 01,02  # two notebooks, in seconds
    python -m course_lib run -p epochs=5 -p seed=1        # overrides for every notebook
    python -m course_lib run --profile full --no-budget   # no time budgets: as long as each notebook takes
    python -m course_lib claims runs/default              # one line per false claim; exit 1 if any
    python -m course_lib report runs/default              # rebuild index.html of a run
    python -m course_lib sweep --notebooks 01,02 --seeds 0-3  # seeds (and a --grid) on Dask
    python -m course_lib speed                            # this machine against the budgets' reference
    python -m course_lib site                             # the course website (offline) into build/site
    python -m course_lib slides 03                        # reveal.js slides into build/slides
    python -m course_lib student --profile smoke          # student edition + otter autograder, build/student
    python -m course_lib grade 01 submissions/            # otter run on every submission: grades.csv

Input that cannot work stops with one line (``error: ...``) and exit status 1.
"""
from __future__ import annotations

import argparse
import sys

from . import claims, profiles, refresh, report, runner, speed, sweep
from .errors import RunError
from .execute import ensure_kernel


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m course_lib", description="Run the MNIST course notebooks.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute notebooks with papermill on a profile")
    r.add_argument("--profile", default="default", help="smoke, default or full (params/NAME.yaml)")
    r.add_argument("--only", help="comma-separated notebook numbers or names, e.g. 03,05")
    r.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter for every chosen notebook (repeatable)")
    r.add_argument("--output", help="output folder (default runs/PROFILE)")
    r.add_argument("--quiet", action="store_true", help="only the summary lines")
    r.add_argument("--no-budget", action="store_true",
                   help="no time budgets: let every notebook run as long as it takes")
    s = sub.add_parser("sweep", help="run notebooks over seeds and a grid of parameters on Dask; merge the results")
    s.add_argument("--notebooks", help="comma-separated notebook numbers or names (default: all)")
    s.add_argument("--seeds", default="0-9", help="seeds: numbers and ranges, e.g. 0-3,7 (default 0-9)")
    s.add_argument("--profile", default="default", help="smoke, default or full (params/NAME.yaml)")
    s.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="a parameter to sweep, its values YAML (repeatable: every combination runs)")
    s.add_argument("-p", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed parameter for every task (repeatable)")
    s.add_argument("--output", help="output folder (default runs/sweep-PROFILE)")
    s.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                   "(default: a LocalCluster on this machine)")
    s.add_argument("--workers", type=int, help="the LocalCluster's workers (default: cores / each notebook's threads)")
    s.add_argument("--merge-only", metavar="OUTPUT", help="only merge the finished tasks of a sweep folder")
    s.add_argument("--quiet", action="store_true", help="no progress bar, only the result lines")
    s.add_argument("--no-budget", action="store_true",
                   help="no time budgets: let every task run as long as it takes")
    c = sub.add_parser("claims", help="list the false claims of a run folder; exit status 1 if any")
    c.add_argument("folder", help="a run folder, e.g. runs/default")
    rep = sub.add_parser("report", help="rebuild index.html of a run folder from its summary.json")
    rep.add_argument("folder", help="a run folder, e.g. runs/default")
    f = sub.add_parser("refresh", help="re-execute the committed notebooks in place (default profile, sample data)")
    f.add_argument("--only", help="comma-separated notebook numbers or names")
    sub.add_parser("kernel", help="register the mnist-course Jupyter kernel")
    sp = sub.add_parser("speed", help="time this machine against a profile's reference machine: the budgets' factor")
    sp.add_argument("--profile", default="default", help="whose reference (params/NAME.yaml)")
    si = sub.add_parser("site", help="build the course website from executed notebooks (offline)")
    si.add_argument("--from", dest="source", help="executed notebooks: notebooks/ (default) or a run folder")
    si.add_argument("--output", default="build/site", help="output folder (default build/site; the site is OUTPUT/html)")
    sl = sub.add_parser("slides", help="reveal.js lecture slides of notebooks (offline)")
    sl.add_argument("notebooks", nargs="?", help="comma-separated notebook numbers or names (default: all)")
    sl.add_argument("--from", dest="source", help="executed notebooks: notebooks/ (default) or a run folder")
    sl.add_argument("--output", default="build/slides", help="output folder (default build/slides)")
    st = sub.add_parser("student", help="the student edition and its otter-grader autograder")
    st.add_argument("--only", help="comma-separated notebook numbers or names (default: all)")
    st.add_argument("--profile", help="inject this profile's parameters (e.g. smoke) into the student notebooks")
    st.add_argument("--output", default="build/student", help="output folder (default build/student)")
    g = sub.add_parser("grade", help="grade a folder of submissions of one notebook with otter run (no Docker)")
    g.add_argument("notebook", help="the notebook, e.g. 01")
    g.add_argument("submissions", help="a folder of submitted .ipynb files")
    g.add_argument("--autograder", default="build/student/autograder", help="where `student` put the zips")
    g.add_argument("--output", help="results folder (default SUBMISSIONS/graded)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "run":
            overrides = dict(profiles.parse_override(o) for o in args.overrides)
            runner.run(args.profile, args.only, overrides, args.output, args.quiet, budgets=not args.no_budget)
        elif args.command == "sweep":
            if args.merge_only:
                merged = sweep.merge(args.merge_only)
                print(f"merged {len(merged['tasks'])} task(s) -> {args.merge_only}/sweep.html")
            else:
                overrides = dict(profiles.parse_override(o) for o in args.overrides)
                merged = sweep.sweep(args.profile, args.notebooks, args.seeds, args.grid, overrides, args.output,
                                     args.scheduler, args.workers, args.quiet, budgets=not args.no_budget)
            return 0 if all(t["status"] == "ok" for t in merged["tasks"]) else 1
        elif args.command == "claims":
            lines, ok = claims.check(args.folder)
            print("\n".join(lines), flush=True)
            return 0 if ok else 1
        elif args.command == "report":
            print(report.rebuild(args.folder))
        elif args.command == "refresh":
            refresh.refresh(args.only)
        elif args.command == "site":
            from . import site
            site.build(args.source, args.output)
        elif args.command == "slides":
            from . import slides
            slides.build(args.notebooks, args.source, args.output)
        elif args.command == "student":
            from . import student
            student.build(args.only, args.output, args.profile)
        elif args.command == "grade":
            from . import student
            print(student.grade(args.notebook, args.submissions, args.autograder, args.output))
        elif args.command == "speed":
            print(speed.report(profiles.load_profile(args.profile)))
        else:
            ensure_kernel()
    except RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0
