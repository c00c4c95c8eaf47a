"""Replaying recorded NFL games through the unchanged daemon (issue #7).

The daemon only sees other base URLs: fake ESPN, Kalshi and Telegram servers (`espn_server`,
`kalshi_server`, `telegram_server`, on the shared HTTP base `http`) serve what the real APIs
would have served at each moment of a recorded game (`recording`, `timeline`), on a simulated
clock (`clock`) that can run faster than real time, with optional injected failures (`faults`).
`runner` is the `--replay` command.
"""
