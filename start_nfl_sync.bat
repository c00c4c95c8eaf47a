@echo off
REM Start the NFL real-time sync on Windows (also from Task Scheduler).
REM Creates the virtual environment on first use, then runs the daemon; arguments pass through,
REM e.g. start_nfl_sync.bat --once
setlocal
cd /d "%~dp0"
where py >nul 2>nul
if %ERRORLEVEL%==0 (set "PY=py -3") else (set "PY=python")
if not exist ".venv\Scripts\python.exe" (
  echo Creating virtual environment in .venv ...
  %PY% -m venv .venv || goto :fail
)
.venv\Scripts\python.exe -m pip install --disable-pip-version-check -q -r requirements.txt || goto :fail
if not exist logs mkdir logs
.venv\Scripts\python.exe src\nfl_realtime_sync.py %*
exit /b %ERRORLEVEL%
:fail
echo Setup failed: see the messages above.
exit /b 1
