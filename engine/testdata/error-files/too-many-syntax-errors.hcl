# Seven lines of stray control bytes: five errors are shown, then a count of the rest.
  # ERROR: Invalid character
  # ERROR: Invalid character
  # ERROR: Invalid character
  # ERROR: Invalid character
  # ERROR: Invalid character


# ERROR@0: Too Many Syntax Errors
