"""`python -m lcl_tui`: the CLI, the form in which torchrun starts each training process."""

from lcl_tui.cli import main

if __name__ == "__main__":
    main()
