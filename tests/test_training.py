"""course_lib.training and course_lib.session: batches, determinism, checkpoints, LR finder."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib import data, session, training


def tiny_problem(seed=0):
    session.configure(seed=seed, threads=1, device="cpu")
    train = data.load("mnist-sample", "train").subset(600, seed=0)
    model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    return model, train.flat(), train.labels


def ce(model, xb, yb):
    return F.cross_entropy(model(xb), yb)


def test_batches_cover_every_index_once():
    seen = torch.cat(list(training.batches(103, 10, torch.Generator().manual_seed(1))))
    assert sorted(seen.tolist()) == list(range(103))
    assert [len(b) for b in training.batches(25, 10, shuffle=False)] == [10, 10, 5]


def test_same_seed_same_losses():
    runs = []
    for _ in range(2):
        model, x, y = tiny_problem(seed=7)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        h = training.fit(model, ce, x, y, epochs=2, batch_size=64, optimizer=opt,
                         generator=torch.Generator().manual_seed(7), progress=False)
        runs.append((h.column("train_loss"), model[0].weight.clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])


def test_evaluate_joins_the_history():
    model, x, y = tiny_problem()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    h = training.fit(model, ce, x, y, epochs=2, batch_size=64, optimizer=opt, progress=False,
                     generator=torch.Generator().manual_seed(0), evaluate=lambda m: {"acc": (m(x).argmax(1) == y).float().mean().item()})
    assert len(h.rows) == 2 and set(h.last) >= {"epoch", "train_loss", "acc", "seconds"}
    assert h.column("train_loss")[1] < h.column("train_loss")[0]


def test_resume_from_checkpoint_matches_an_uninterrupted_run(tmp_path):
    model, x, y = tiny_problem(seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    straight = training.fit(model, ce, x, y, epochs=3, batch_size=50, optimizer=opt,
                            generator=torch.Generator().manual_seed(3), progress=False)
    w_straight = model[0].weight.clone()

    ckpt = tmp_path / "run.pt"
    model, x, y = tiny_problem(seed=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    training.fit(model, ce, x, y, epochs=2, batch_size=50, optimizer=opt,
                 generator=torch.Generator().manual_seed(3), progress=False, checkpoint=ckpt)
    assert ckpt.exists() and not list(tmp_path.glob("*.tmp"))
    # a fresh process would rebuild everything from scratch: different initial weights on purpose
    model, x, y = tiny_problem(seed=99)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    resumed = training.fit(model, ce, x, y, epochs=3, batch_size=50, optimizer=opt,
                           generator=torch.Generator().manual_seed(3), progress=False, checkpoint=ckpt)
    assert resumed.column("train_loss") == straight.column("train_loss")
    assert torch.equal(model[0].weight, w_straight)


def test_lr_find_suggests_a_rate_and_leaves_the_model_alone():
    model, x, y = tiny_problem()
    before = model[0].weight.clone()
    result = training.lr_find(model, ce, x, y, batch_size=64, progress=False,
                              generator=torch.Generator().manual_seed(0), make_optimizer=lambda params, lr: torch.optim.SGD(params, lr=lr))
    assert torch.equal(model[0].weight, before)
    assert 1e-6 < result.suggestion < 10
    assert len(result.lrs) == len(result.losses) > 10
    # the suggestion trains: loss falls over an epoch at that rate
    opt = torch.optim.SGD(model.parameters(), lr=result.suggestion)
    h = training.fit(model, ce, x, y, epochs=5, batch_size=64, optimizer=opt, progress=False,
                     generator=torch.Generator().manual_seed(0))
    losses = h.column("train_loss")
    assert losses[-1] < 0.8 * losses[0]


def test_lr_find_marks_an_early_stop_as_finished(monkeypatch):
    import io

    import tqdm.auto

    bars = []

    class Recorder(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "file": io.StringIO()})
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    model, x, y = tiny_problem()
    result = training.lr_find(model, ce, x, y, batch_size=64, start=1e-2, end=1e4, steps=200, progress=True,
                              generator=torch.Generator().manual_seed(0), make_optimizer=lambda params, lr: torch.optim.SGD(params, lr=lr))
    assert len(result.lrs) < 200  # the loss blew up before the last step
    (bar,) = bars
    assert bar.n == bar.total == len(result.lrs) + 1  # complete at the step that stopped it, then closed
    assert bar.disable  # tqdm sets this on close()


def test_lr_find_suggests_the_steepest_fall_before_the_minimum():
    lrs = [10 ** (i / 10) for i in range(-40, 11)]
    losses = [2.3 - 2.0 / (1 + math.exp(-(math.log10(r) + 1) * 3)) for r in lrs]  # falls fastest at 0.1
    losses[-5:] = [losses[-6] + k for k in range(1, 6)]  # then blows up
    i = training.steepest_fall(lrs, losses)
    assert 0.07 < lrs[i] < 0.14
    assert training.steepest_fall([1e-3, 1e-2, 1e-1], [1.0, 2.0, 3.0]) == 0  # never fell: the first rate


def test_start_picks_cpu_here_and_rejects_unknown_devices():
    assert session.configure(seed=0, threads=1, device="auto").type in {"cpu", "cuda", "mps"}
    assert torch.are_deterministic_algorithms_enabled() and torch.get_num_threads() == 1
    with pytest.raises(ValueError, match="device must be one of"):
        session.pick_device("tpu")


@pytest.mark.skipif(not torch.set_flush_denormal(False), reason="this CPU cannot flush subnormal numbers")
@pytest.mark.parametrize("pool_first", [False, True])
def test_start_flushes_subnormals_on_every_thread_it_starts(pool_first):
    # A fresh process: a worker thread copies the flush setting of the thread that starts it,
    # so start() must set it before torch's first parallel op, and says so when it came too late.
    import subprocess
    import sys

    early = "torch.set_num_threads(2); (torch.rand(1 << 21) * 2).sum(); " if pool_first else ""
    code = f"import torch; from course_lib import session; {early}session.configure(0, 2, 'cpu'); print(session.flushes_subnormals())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    if pool_first:
        assert "flushed on the main thread only" in out and out.strip().endswith("False")
    else:
        assert "subnormals flushed to zero" in out and out.strip().endswith("True")
