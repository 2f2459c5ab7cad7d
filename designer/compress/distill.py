"""Knowledge distillation (Hinton et al. 2015) as a loss for the training engine.

`DistillationLoss(teacher, temperature, alpha)` computes, for the student's main output,
    alpha · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)) + (1 − alpha) · CE(z_s, y)
with the teacher frozen in eval mode; auxiliary outputs keep their weighted cross-entropy. The
Trainer calls it as `loss(outputs, images, labels)` in place of its own criterion.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .measure import CompressError, load_model


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    """The distillation objective on one batch of logits."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, 1),
                    F.log_softmax(teacher_logits / temperature, 1),
                    log_target=True, reduction="batchmean")
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature ** 2 * soft + (1 - alpha) * hard


class DistillationLoss:
    def __init__(self, teacher, temperature=4.0, alpha=0.9, aux_weights=()):
        if temperature <= 0:
            raise CompressError(f"the temperature must be positive; got {temperature:g}")
        if not 0 <= alpha <= 1:
            raise CompressError(f"alpha must be between 0 and 1; got {alpha:g}")
        self.teacher = teacher.eval()
        for parameter in self.teacher.parameters():
            parameter.requires_grad_(False)
        self.temperature, self.alpha = temperature, alpha
        self.aux_weights = list(aux_weights)

    def __call__(self, outputs, images, labels):
        if next(self.teacher.parameters()).device != images.device:
            self.teacher.to(images.device)
        self.teacher.eval()           # the Trainer puts its own model in train mode only
        with torch.no_grad():
            teacher_logits = self.teacher(images)
            if isinstance(teacher_logits, (tuple, list)):
                teacher_logits = teacher_logits[0]
        loss = distillation_loss(outputs[0].float(), teacher_logits.float(), labels,
                                 self.temperature, self.alpha)
        for weight, aux in zip(self.aux_weights, outputs[1:]):
            loss = loss + weight * F.cross_entropy(aux.float(), labels)
        return loss


def load_teacher(design, weights):
    """The teacher: a design or preset with its weights, which must fit it exactly."""
    from designer.cli import load_for_cli
    if not weights:
        raise CompressError("a teacher needs its trained weights (--teacher-weights)")
    return load_model(load_for_cli(design), weights)
