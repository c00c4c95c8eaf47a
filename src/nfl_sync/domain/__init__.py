"""The pure core: records, teams, play classification, event detection, alert policy and text.

Nothing here does I/O or reads a clock, and nothing imports from the other folders of the package;
the shell around it passes `now` and the data it fetched.
"""
