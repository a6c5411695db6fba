"""平安一张图 launcher: `python launcher.py --db data/ankang.sqlite` opens the console in a desktop window (falls back
to serving without a display). The code is console/launcher.py; this file keeps the command the README names."""

from console.launcher import main

if __name__ == "__main__":
    raise SystemExit(main())
