# Writes OUT: `#define DLC_CODEGEN_SOURCE_HASH "<16 hex digits>"`, the SHA-256 of the
# files in SOURCES ('|'-separated, hashed in order, each with its name relative to ROOT).
# Run at build time (codegen/CMakeLists.txt) whenever one of them changes; only
# codegen/kernel_key.cpp includes OUT, so only it recompiles.
string(REPLACE "|" ";" files "${SOURCES}")
set(text "")
foreach(f ${files})
  file(READ "${f}" body)
  file(RELATIVE_PATH rel "${ROOT}" "${f}")
  string(APPEND text "${rel}\n${body}\n")
endforeach()
string(SHA256 hash "${text}")
string(SUBSTRING "${hash}" 0 16 hash)
file(WRITE "${OUT}" "#define DLC_CODEGEN_SOURCE_HASH \"${hash}\"\n")
