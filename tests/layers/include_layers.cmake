# cmake -DSOURCE_DIR=<src> -P include_layers.cmake
#
# Checks that no include arrow in src/ runs back up: a file in folder F may
# include headers of F itself and of the folders F builds on (the table below,
# closed transitively), nothing else. The table is the real dependency DAG of
# src/ (issue 27): the core (common, grammar, noise, bp, theory, markov, experiment, denoiser)
# does not know about the cluster, the image side or the command line; cluster
# sits on common only; image/checkpoint and image/io are plain C++; libtorch
# (the LibTorch pieces every network shares: conversions, device, state-dict
# loading) sits on the checkpoint reader and the cluster, below every LibTorch
# folder; within image/, models < diffusion < probe < experiment, and diffusion <
# training (the classifier and diffusion trainers), probe < quality (sample quality); cli is on top.
# A folder of networks that are not image models (e.g. nets/) goes here on
# libtorch, beside image/models. A new folder must be placed here before it can include anything.
# Also checks that the folders that build without LibTorch include none of it.
# Prints one line per violation and fails if there is any.

cmake_minimum_required(VERSION 3.20)

set(HDIFF_LAYERS
  "common:"
  "grammar:common"
  "noise:common"
  "bp:grammar,noise"
  "theory:grammar,noise"
  "markov:grammar,noise"
  "experiment:bp,theory,markov"
  "denoiser:experiment"
  "cluster:common"
  "image/checkpoint:common"
  "image/io:common"
  "libtorch:image/checkpoint,cluster"
  "image/models:libtorch,image/io"
  "text:denoiser"
  "nets:libtorch,denoiser,text"
  "image/diffusion:image/models,noise"
  "image/probe:image/diffusion"
  "image/experiment:image/probe"
  "image/quality:image/probe"
  "image/training:image/diffusion"
  "cli:experiment,denoiser,text,cluster,image/experiment,image/quality,image/training,nets")
# Folders compiled into build/hdiff or the fuzzers, which never link LibTorch.
set(HDIFF_NO_TORCH common grammar noise bp theory markov experiment denoiser text cluster image/checkpoint image/io)

if(NOT SOURCE_DIR)
  message(FATAL_ERROR "give -DSOURCE_DIR=<the src folder>")
endif()

foreach(entry IN LISTS HDIFF_LAYERS)
  string(REPLACE ":" ";" parts "${entry}")
  list(GET parts 0 folder)
  list(LENGTH parts n)
  set(below_${folder} "")
  if(n GREATER 1)
    list(GET parts 1 deps)
    string(REPLACE "," ";" below_${folder} "${deps}")
  endif()
  list(APPEND known ${folder})
endforeach()

# Transitive closure, by rounds (the table is small).
foreach(round RANGE 16)
  foreach(folder IN LISTS known)
    set(closure ${below_${folder}})
    foreach(dep IN LISTS below_${folder})
      list(APPEND closure ${below_${dep}})
    endforeach()
    list(REMOVE_DUPLICATES closure)
    set(below_${folder} ${closure})
  endforeach()
endforeach()
foreach(folder IN LISTS known)
  if(folder IN_LIST below_${folder})
    message(FATAL_ERROR "the layer table has a cycle through ${folder}")
  endif()
endforeach()

# The folder a path under src/ belongs to: image/<sub> inside image/, else the top folder.
function(layer_of path out)
  string(REPLACE "/" ";" parts "${path}")
  list(GET parts 0 top)
  list(LENGTH parts n)
  if(top STREQUAL "image" AND n GREATER 2)
    list(GET parts 1 sub)
    set(${out} "image/${sub}" PARENT_SCOPE)
  else()
    set(${out} "${top}" PARENT_SCOPE)
  endif()
endfunction()

set(violations 0)
file(GLOB_RECURSE sources RELATIVE "${SOURCE_DIR}" "${SOURCE_DIR}/*.h" "${SOURCE_DIR}/*.cpp")
list(SORT sources)
foreach(file IN LISTS sources)
  layer_of("${file}" from)
  if(NOT from IN_LIST known)
    message("${file}: folder ${from} is not in the layer table of tests/layers/include_layers.cmake")
    math(EXPR violations "${violations} + 1")
    continue()
  endif()
  file(STRINGS "${SOURCE_DIR}/${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  foreach(line IN LISTS includes)
    if(line MATCHES "#[ \t]*include[ \t]*\"([^\"]+/[^\"]+)\"")
      set(header "${CMAKE_MATCH_1}")
      layer_of("${header}" to)
      if(NOT to STREQUAL from AND NOT to IN_LIST below_${from})
        message("${file} includes ${header}: ${to} is not below ${from}")
        math(EXPR violations "${violations} + 1")
      endif()
    elseif(line MATCHES "#[ \t]*include[ \t]*<((torch|ATen|c10)/[^>]+)>" AND from IN_LIST HDIFF_NO_TORCH)
      message("${file} includes <${CMAKE_MATCH_1}>: ${from} builds without LibTorch")
      math(EXPR violations "${violations} + 1")
    endif()
  endforeach()
endforeach()

list(LENGTH sources checked)
if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) run against the layers (${checked} files checked)")
endif()
message("include layers: ${checked} files checked, none includes a folder above it")
