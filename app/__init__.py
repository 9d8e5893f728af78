"""khuyencong-survey: needs survey and point-project prioritisation for Vietnam's industrial extension."""

__version__ = "0.1.0"
