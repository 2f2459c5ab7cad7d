"""Light and dark themes: canvas and node colours, colour by layer kind, the Qt palette and the
style sheet, and the bundled SVG icon set (`designer/resources/icons`, drawn in one stroke style and tinted
to the theme's text colour)."""

from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QProxyStyle, QStyle, QStyleFactory

ICONS_DIR = files("designer") / "resources" / "icons"   # inside the package: wheels carry it


@dataclass(frozen=True)
class Theme:
    name: str
    window: str
    panel: str
    base: str
    text: str
    text_dim: str
    canvas: str
    grid: str
    node: str
    node_border: str
    edge: str
    edge_hover: str
    accent: str
    error: str
    error_fill: str
    blocked: str


LIGHT = Theme("light", window="#eef0f3", panel="#f7f8fa", base="#ffffff", text="#1f2430",
              text_dim="#5f6878", canvas="#f4f5f7", grid="#e3e6eb", node="#ffffff",
              node_border="#c5cbd5", edge="#8a93a3", edge_hover="#2f6fde", accent="#2f6fde",
              error="#d33f3f", error_fill="#fdeaea", blocked="#a0a6b0")
DARK = Theme("dark", window="#1e2127", panel="#252930", base="#1b1e23", text="#dfe3ea",
             text_dim="#9aa3b2", canvas="#1a1d22", grid="#242830", node="#2c313a",
             node_border="#434a56", edge="#7c8698", edge_hover="#6ea2ff", accent="#5b93f5",
             error="#ff6b6b", error_fill="#4a2a2e", blocked="#6b717c")
THEMES = {"light": LIGHT, "dark": DARK}

def category_colour(category):
    """The QColor of a spec's `Category` (designer.core.categories)."""
    return QColor(category.colour)


class ThemedStyle(QProxyStyle):
    """Fusion, with check boxes outlined in the theme's border colour: Fusion outlines them a
    shade darker than the window colour, which in the dark theme is no outline at all (the
    unticked runs in the Train panel's list and every unticked check box vanished)."""

    def __init__(self):
        super().__init__(QStyleFactory.create("Fusion"))
        self.theme = LIGHT

    def drawPrimitive(self, element, option, painter, widget=None):
        if element == QStyle.PE_IndicatorCheckBox:
            option = type(option)(option)
            palette = QPalette(option.palette)
            # Fusion's outline is the window colour darker(140): this makes it the border.
            palette.setColor(QPalette.Window, QColor(self.theme.node_border).lighter(140))
            option.palette = palette
        super().drawPrimitive(element, option, painter, widget)


def apply(app, theme):
    """Set the application's palette and style sheet for `theme`."""
    style = getattr(app, "themed_style", None)   # app.style() is the style sheet's wrapper
    if style is None:
        style = app.themed_style = ThemedStyle()
        app.setStyle(style)
    style.theme = theme
    palette = QPalette()
    roles = {
        QPalette.Window: theme.window, QPalette.WindowText: theme.text, QPalette.Base: theme.base,
        QPalette.AlternateBase: theme.panel, QPalette.Text: theme.text,
        QPalette.Button: theme.panel, QPalette.ButtonText: theme.text,
        QPalette.Highlight: theme.accent, QPalette.HighlightedText: "#ffffff",
        QPalette.ToolTipBase: theme.base, QPalette.ToolTipText: theme.text,
        QPalette.PlaceholderText: theme.text_dim, QPalette.Link: theme.accent,
    }
    for role, colour in roles.items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor(theme.text_dim))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor(theme.text_dim))
    palette.setColor(QPalette.Disabled, QPalette.WindowText, QColor(theme.text_dim))
    app.setPalette(palette)
    style_sheet = f"""
        QToolTip {{ color: {theme.text}; background: {theme.base}; border: 1px solid {theme.node_border};
                    padding: 4px; }}
        QDockWidget::title {{ padding: 5px 8px; background: {theme.window}; }}
        QLabel#heading {{ font-weight: 600; font-size: 11pt; }}
        QLabel#dim {{ color: {theme.text_dim}; }}
        QLabel#error {{ color: {theme.error}; }}
        QTreeWidget, QTableView, QListWidget {{ border: none; }}
        QToolBar {{ spacing: 2px; padding: 2px 4px; border: none; }}
        QStatusBar QLabel {{ padding: 0 8px; color: {theme.text_dim}; }}
        QStatusBar FigureText {{ color: {theme.text_dim}; }}
        QFrame#breadcrumb {{ background: {theme.panel}; border-bottom: 1px solid {theme.node_border}; }}
        QPushButton#crumb {{ border: none; padding: 2px 6px; color: {theme.accent}; }}
        QPushButton#crumb:disabled {{ color: {theme.text}; font-weight: 600; }}
    """
    if app.styleSheet() != style_sheet:  # re-polishing every widget costs ~0.1 s per window
        app.setStyleSheet(style_sheet)
    icon.cache_clear()


@lru_cache(maxsize=None)
def _svg(name):
    path = ICONS_DIR / f"{name}.svg"
    return path.read_text(encoding="utf-8")


@lru_cache(maxsize=256)
def icon(name, colour="#1f2430", disabled=None):
    """An icon from the bundled set, tinted: the SVGs draw with `currentColor`. `disabled`: the
    colour it has when disabled (Qt's own greying lightens a light icon on a dark theme, so a
    disabled tool looked enabled); None leaves that to Qt."""
    result = QIcon()
    for mode, tint in ((QIcon.Normal, colour), (QIcon.Disabled, disabled)):
        if tint is None:
            continue
        renderer = QSvgRenderer(QByteArray(_svg(name).replace("currentColor", tint)
                                           .encode("utf-8")))
        for size in (16, 20, 24, 32, 48):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.transparent)
            painter = QPainter(pixmap)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
            result.addPixmap(pixmap, mode)
    return result
