# Fails unless README shows each file in EXAMPLES (a ;-list) verbatim.
file(READ "${README}" readme)
foreach(example IN LISTS EXAMPLES)
  file(READ "${example}" code)
  string(FIND "${readme}" "${code}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "README.md does not show ${example} verbatim")
  endif()
endforeach()
