"""Knowledge distillation (Hinton et al. 2015) as a loss for the training engine.

`DistillationLoss(teacher, temperature, alpha)` computes, for the student's main output,
    alpha · T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)) + (1 − alpha) · CE(z_s, y)
with the teacher frozen in eval mode; auxiliary outputs keep their weighted cross-entropy. The
Trainer calls it as `loss(outputs, images, labels)` in place of its own criterion.
"""

import torch
import torch.nn.functional as F

from designer.arguments import load_for_cli
from designer.core.compile import output_nodes
from .measure import CompressError, load_model, input_shape


def distillation_loss(student_logits, teacher_logits, labels, temperature, alpha):
    """The distillation objective on one batch of logits."""
    soft = F.kl_div(F.log_softmax(student_logits / temperature, 1),
                    F.log_softmax(teacher_logits / temperature, 1),
                    log_target=True, reduction="batchmean")
    hard = F.cross_entropy(student_logits, labels)
    return alpha * temperature ** 2 * soft + (1 - alpha) * hard


def fit_images(images, shape):
    """The student's batch as the teacher sees it: channels matched (grey repeated, or RGB
    averaged) and resized to the teacher's input, bilinearly like the data pipeline."""
    if shape is None or tuple(images.shape[1:]) == tuple(shape):
        return images
    channels, height, width = shape
    if images.shape[1] != channels:
        images = (images.mean(1, keepdim=True) if channels == 1
                  else images[:, :1].expand(-1, channels, -1, -1))
    return F.interpolate(images, size=(height, width), mode="bilinear", align_corners=False,
                         antialias=True)


class DistillationLoss:
    def __init__(self, teacher, temperature=2.0, alpha=0.5, aux_weights=(), teacher_shape=None):
        if temperature <= 0:
            raise CompressError(f"the temperature must be positive; got {temperature:g}")
        if not 0 <= alpha <= 1:
            raise CompressError(f"alpha must be between 0 and 1; got {alpha:g}")
        self.teacher = teacher.eval()
        for parameter in self.teacher.parameters():
            parameter.requires_grad_(False)
        self.temperature, self.alpha = temperature, alpha
        self.aux_weights = list(aux_weights)
        self.teacher_shape = teacher_shape

    def __call__(self, outputs, images, labels):
        if next(self.teacher.parameters()).device != images.device:
            self.teacher.to(images.device)
        self.teacher.eval()           # the Trainer puts its own model in train mode only
        with torch.no_grad():
            teacher_logits = self.teacher(fit_images(images, self.teacher_shape))
            if isinstance(teacher_logits, (tuple, list)):
                teacher_logits = teacher_logits[0]
        loss = distillation_loss(outputs[0].float(), teacher_logits.float(), labels,
                                 self.temperature, self.alpha)
        for weight, aux in zip(self.aux_weights, outputs[1:]):
            loss = loss + weight * F.cross_entropy(aux.float(), labels)
        return loss


def load_teacher(design, weights):
    """The teacher (a design or preset with weights that must fit it exactly) and its input
    shape."""
    if not weights:
        raise CompressError("a teacher needs its trained weights (--teacher-weights)")
    graph = load_for_cli(design)
    return load_model(graph, weights), input_shape(graph)


def distillation_for(student_graph, teacher, teacher_weights, temperature=2.0, alpha=0.5):
    """The DistillationLoss for training `student_graph` from the design or preset `teacher`
    with `teacher_weights`; auxiliary outputs of the student keep their weighted cross-entropy."""
    aux = [float(n.params["loss_weight"]) for n in output_nodes(student_graph)][1:]
    model, shape = load_teacher(teacher, teacher_weights)
    return DistillationLoss(model, temperature, alpha, aux, shape)


def distillation_from(student_graph, start):
    """The DistillationLoss the start settings ask for (`designer.train.config.START_SETTINGS`:
    teacher, teacher_weights, temperature, alpha), or None when no teacher is given."""
    if not start.teacher:
        return None
    return distillation_for(student_graph, start.teacher, start.teacher_weights,
                            start.temperature, start.alpha)
