# Fails unless README shows the file EXAMPLE verbatim.
file(READ "${README}" readme)
file(READ "${EXAMPLE}" code)
string(FIND "${readme}" "${code}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "README.md does not show ${EXAMPLE} verbatim")
endif()
