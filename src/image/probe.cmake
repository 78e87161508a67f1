# hdiff_probe: the ConvNeXt classifier probe and the image experiment (issue 6).
# Included at the end of this folder's CMakeLists.txt.
if(HDIFF_WITH_TORCH)
  add_library(hdiff_probe STATIC
    ${CMAKE_CURRENT_LIST_DIR}/convnext.cpp
    ${CMAKE_CURRENT_LIST_DIR}/classifier_input.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_stats.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_table.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_pairs.cpp)
  target_link_libraries(hdiff_probe PUBLIC hdiff_common hdiff_checkpoint ${TORCH_LIBRARIES}
                                           tomlplusplus::tomlplusplus)
  target_compile_options(hdiff_probe PRIVATE ${HDIFF_WARNINGS})
endif()
