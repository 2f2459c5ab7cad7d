"""The settings of a look inside a trained network, each declared once (designer.core.settings):
`designer inspect`'s flags and the Insight panel's controls come from these. A light module (no
torch), so building the CLI's parser stays quick.
"""

from designer.core.errors import DesignError
from designer.core.params import Param
from designer.core.settings import Settings
from designer.train.config import DATASETS


class InsightError(DesignError):
    """A node, image or request that an Insight view cannot use; the sentence says why."""


ATTRIBUTIONS = {"gradcam": "Grad-CAM", "guided_backprop": "Guided backprop",
                "guided_gradcam": "Guided Grad-CAM", "occlusion": "Occlusion",
                "integrated_gradients": "Integrated gradients", "smoothgrad": "SmoothGrad"}
LANDSCAPE_STEPS = {"1d": 41, "2d": 21}      # points per axis when --steps is not given

SETTINGS = Settings([
    Param("weights", "path", None, optional=True, title="Weights", metavar="CKPT",
          none_text="choose the trained weights", pattern="PyTorch weights (*.pt *.pth *.ckpt)",
          group="Model", help="A training checkpoint (or run folder) or a state_dict file"),
    Param("dataset", "choice", "digits", choices=DATASETS, title="Dataset", group="Data",
          help="The dataset the network was trained on: its classes, its validation images "
               "and its evaluation transform"),
    Param("data_dir", "folder", None, optional=True, title="Data folder", none_text="no folder",
          group="Data", help="Where the dataset's files are"),
    Param("image", "path", None, optional=True, title="Image", metavar="FILE",
          none_text="a validation image (--index)", group="Sample",
          pattern="Images (*.png *.jpg *.jpeg *.bmp *.webp)",
          help="An image file, converted to the design's input by the dataset's evaluation "
               "transform"),
    Param("index", "int", 0, title="Validation image", min=0, metavar="N",
          group="Sample", help="The validation image to look at"),
    Param("node", "names", None, optional=True, title="Nodes", metavar="ID", group="Views",
          none_text="every top-level convolution",
          help="Nodes whose output (and filters, for convolutions) to show"),
    Param("gradcam", "str", None, optional=True, title="Grad-CAM at", metavar="NODE",
          none_text="none", group="Views", help="Grad-CAM at this node (a spatial output)"),
    Param("attribution", "names", None, optional=True, choices=tuple(ATTRIBUTIONS)[1:],
          title="Attribution", metavar="METHOD", none_text="none", group="Views",
          help="Captum attributions written as attribution_METHOD.png (guided_gradcam at the "
               "Grad-CAM node)"),
    Param("target_class", "int", None, optional=True, title="Class", flag="--class", min=0,
          metavar="K", none_text="the predicted one", group="Views",
          help="The class Grad-CAM and the attributions explain"),
    Param("confusion", "bool", False, title="Confusion", group="Evaluation",
          help="The confusion matrix and the most confidently wrong images"),
    Param("wrong", "int", 16, title="Wrong images", min=1, metavar="N",
          group="Evaluation", help="How many confidently wrong images to show"),
    Param("embedding", "choice", None, optional=True, choices={"pca": "PCA", "tsne": "t-SNE"},
          title="Embedding", none_text="none", group="Evaluation",
          help="A 2-D map of the last layer's input features, coloured by class"),
    Param("landscape", "choice", None, optional=True, choices={
          "1d": "1-D: from the initial weights to these", "2d": "2-D: around these weights"},
          title="Loss landscape", none_text="none", group="Loss landscape",
          help="1d: the loss from the initial weights (or --landscape-from) to these; 2d: "
               "around these weights along two filter-normalised directions"),
    Param("steps", "int", None, optional=True, title="Points per axis", min=2,
          metavar="N", none_text="41 for 1d, 21 for 2d", group="Loss landscape",
          help="Landscape points per axis"),
    Param("batches", "int", 2, title="Batches", min=1, metavar="N",
          group="Loss landscape", help="Validation batches of 128 the landscape's loss is "
                                       "measured on"),
    Param("landscape_from", "path", None, optional=True, title="Start weights", metavar="CKPT",
          none_text="the initial weights", pattern="PyTorch weights (*.pt *.pth *.ckpt)",
          group="Loss landscape", help="1d landscape: start from these weights"),
], InsightError)

# The Insight panel explains one prediction at a time, by one of the methods above.
METHOD = Param("method", "choice", "gradcam", choices=ATTRIBUTIONS, title="Method",
               help="How the prediction is explained: Grad-CAM at the selected node, or one of "
                    "Captum's attributions")
