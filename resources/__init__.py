"""Data shipped with the app (icons, embedded models' weights); a package so it installs with the wheel."""
