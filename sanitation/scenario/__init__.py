"""The scenario model: load a YAML and its data files into one frozen, validated `Scenario`."""

from sanitation.scenario.load import load_scenario
from sanitation.scenario.model import Scenario
from sanitation.scenario.summary import summary_text

__all__ = ["Scenario", "load_scenario", "summary_text"]
