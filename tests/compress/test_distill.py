"""Knowledge distillation: the loss is exactly A·T²·KL + (1−A)·CE on fixed logits, the teacher is
frozen in eval mode, and `designer train --teacher` trains a student with it."""

import json
import math

import pytest
import torch
from torch import nn

from designer.cli import main
from designer.compress.distill import DistillationLoss, distillation_loss
from designer.compress.measure import CompressError


def test_loss_matches_the_formula_on_fixed_logits():
    student = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]])
    teacher = torch.tensor([[1.0, 2.0, 0.0], [-1.0, 0.5, 2.5]])
    labels = torch.tensor([0, 2])
    T, A = 3.0, 0.7
    expected_kl = 0.0
    expected_ce = 0.0
    for s, t, y in zip(student.tolist(), teacher.tolist(), labels.tolist()):
        ps = [math.exp(v / T) for v in s]
        pt = [math.exp(v / T) for v in t]
        ps = [v / sum(ps) for v in ps]
        pt = [v / sum(pt) for v in pt]
        expected_kl += sum(q * math.log(q / p) for p, q in zip(ps, pt)) / len(labels)
        expected_ce += -math.log(math.exp(s[y]) / sum(math.exp(v) for v in s)) / len(labels)
    expected = A * T * T * expected_kl + (1 - A) * expected_ce
    got = distillation_loss(student, teacher, labels, T, A).item()
    assert got == pytest.approx(expected, rel=1e-6)
    assert distillation_loss(student, teacher, labels, T, 0.0).item() == pytest.approx(expected_ce, rel=1e-6)


def test_teacher_is_frozen_and_in_eval_mode():
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.9))
    teacher.train()
    loss = DistillationLoss(teacher, temperature=2.0, alpha=0.5)
    images, labels = torch.randn(8, 1, 2, 2), torch.randint(0, 3, (8,))
    student_logits = torch.randn(8, 3, requires_grad=True)
    first = loss((student_logits,), images, labels)
    second = loss((student_logits,), images, labels)
    assert not teacher.training and first.item() == second.item()   # no dropout noise
    first.backward()
    assert student_logits.grad is not None
    assert all(p.grad is None and not p.requires_grad for p in teacher.parameters())


def test_bad_settings_are_refused():
    teacher = nn.Linear(2, 2)
    with pytest.raises(CompressError, match="temperature"):
        DistillationLoss(teacher, temperature=0)
    with pytest.raises(CompressError, match="alpha"):
        DistillationLoss(teacher, alpha=1.5)


def test_train_verb_distils_from_a_teacher(trained_lenet5, tmp_path, capsys):
    _, teacher_weights, _ = trained_lenet5
    code = main(["train", "reactor_digits", "--dataset", "digits", "--epochs", "1",
                 "--teacher", "lenet5", "--teacher-weights", str(teacher_weights),
                 "--temperature", "4", "--alpha", "0.9", "--batch-size", "128",
                 "--out", str(tmp_path / "run"), "--json"])
    assert code == 0
    epoch = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert epoch["epoch"] == 1 and math.isfinite(epoch["train_loss"])
    code = main(["train", "reactor_digits", "--epochs", "1", "--teacher", "lenet5",
                 "--out", str(tmp_path / "run2")])
    assert code == 2
    assert "teacher needs its trained weights" in capsys.readouterr().err


def test_alpha_zero_trains_exactly_like_training_alone(tmp_path):
    """With A = 0 the loss is the plain cross-entropy, so the hook must reproduce a run without
    it weight for weight (same seed): the Trainer uses the hook and nothing else changes."""
    from designer.compress.measure import load_model
    from designer.core.presets import load_design
    from designer.train.config import TrainConfig
    from designer.train.loop import Trainer

    def trained(loss, folder):
        config = TrainConfig(epochs=1, batch_size=128, lr=0.05, seed=3, out=str(tmp_path / folder))
        trainer = Trainer(load_design("reactor_digits"), config, loss=loss)
        for _ in trainer.run():
            pass
        return trainer.model.state_dict()

    teacher = load_model(load_design("lenet5"))
    alone = trained(None, "alone")
    hooked = trained(DistillationLoss(teacher, temperature=3.0, alpha=0.0,
                                      teacher_shape=(1, 32, 32)), "hooked")
    assert all(torch.equal(alone[k], hooked[k]) for k in alone)
    moved = trained(DistillationLoss(teacher, temperature=3.0, alpha=0.5,
                                     teacher_shape=(1, 32, 32)), "soft")
    assert not all(torch.equal(alone[k], moved[k]) for k in alone)
