# Fails when device code that promises bit-identity with the CPU contains a fused float
# multiply-add: nvcc contracts a*b+c into fma.rn.f32 unless built with -fmad=false (or spelled with
# __fmul_rn/__fadd_rn), while the CPU rounds the product first (-ffp-contract=off), so results differ
# in the last bit. Every spelling counts: .ftz, .sat, the packed .f32x2 of sm_100+, and double. Reads the PTX that tests/CMakeLists.txt compiles from kernels/*.cu with the
# library's own options.
#   cmake -DPTX_FILES="a.ptx|b.ptx" -DALLOW="reaction_diffusion" -P check_ptx.cmake
# ALLOW: '|'-separated substrings of file names whose kernels fuse on purpose (explicit __fmaf_rn on
# both backends, e.g. reaction_diffusion.cu). ALLOW_FUNCTIONS: '|'-separated substrings of function
# names allowed to fuse (detail::direction_atan2: CUDA's atan2f, documented as differing).
string(REPLACE "|" ";" files "${PTX_FILES}")
string(REPLACE "|" ";" allowed "${ALLOW}")
string(REPLACE "|" ";" allowed_functions "${ALLOW_FUNCTIONS}")
set(failures "")
set(checked 0)
foreach(file IN LISTS files)
  get_filename_component(name "${file}" NAME)
  set(skip FALSE)
  foreach(a IN LISTS allowed)
    if(NOT a STREQUAL "" AND name MATCHES "${a}")
      set(skip TRUE)
    endif()
  endforeach()
  if(skip)
    continue()
  endif()
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "PTX file ${file} is missing: build the target pdeimg_kernels_ptx")
  endif()
  math(EXPR checked "${checked} + 1")
  file(STRINGS "${file}" lines REGEX "(\\.entry|\\.func|fma\\.rn|mad\\.(rn\\.)?f32|mad\\.ftz)")
  set(function "(file scope)")
  set(count 0)
  foreach(line IN LISTS lines)
    # ".entry name(" or ".func (.param .b32 func_retval0) name(": the function the lines after it
    # belong to.
    if(line MATCHES "\\.(entry|func)[ \t]+(\\([^)]*\\)[ \t]*)?([^ \t(]+)")
      if(count GREATER 0)
        string(APPEND failures "  ${name}: ${function}: ${count} fused float multiply-adds\n")
      endif()
      set(function "${CMAKE_MATCH_3}")
      foreach(a IN LISTS allowed_functions)
        if(NOT a STREQUAL "" AND function MATCHES "${a}")
          set(function "")
        endif()
      endforeach()
      set(count 0)
    elseif(NOT function STREQUAL "" AND line MATCHES "(fma\\.rn(\\.ftz)?(\\.sat)?\\.f(32|64)|mad\\.(rn\\.)?(ftz\\.)?(sat\\.)?f(32|64))")
      math(EXPR count "${count} + 1")
    endif()
  endforeach()
  if(count GREATER 0)
    string(APPEND failures "  ${name}: ${function}: ${count} fused float multiply-adds\n")
  endif()
endforeach()
if(checked EQUAL 0)
  message(FATAL_ERROR "no PTX file was checked (PTX_FILES='${PTX_FILES}')")
endif()
if(NOT failures STREQUAL "")
  message(FATAL_ERROR "contracted float multiply-adds in kernels that must agree with the CPU bit "
                      "for bit (build them with -fmad=false or spell them with __fmul_rn/__fadd_rn):\n"
                      "${failures}")
endif()
message(STATUS "${checked} PTX files: no fused float multiply-add outside ${ALLOW} ${ALLOW_FUNCTIONS}")
