"""The data engine: what a dataset holds and what is wrong with it, without Qt.

`report.describe(dataset, data_dir, ...)` reads a built-in dataset or an image folder / CSV the
training engine would read (designer.train.images lists the files, designer.train.data loads
them) and gives a `DataReport`: classes, per-split counts, image sizes and channels against the
design's input, and the problems found, each with its files. `report.augment_preview` runs the
training engine's own seeded batch augmentation on real samples. The `designer data` verb
(cli.py) and the Data panel (designer/ui/data_panel.py) show the same report.
"""
