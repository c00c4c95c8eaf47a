"""Replaying recorded NFL games through the unchanged daemon (issue #7).

The daemon only sees other base URLs: fake ESPN and Kalshi servers (`espn_server`,
`kalshi_server`) serve what the real APIs would have served at each moment of a recorded game
(`timeline`), on a simulated clock (`clock`) that can run faster than real time, with optional
injected failures (`faults`). All fake servers share one small HTTP base (`http`).
"""
