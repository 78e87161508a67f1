# hdiff_probe: the ConvNeXt classifier probe and the image experiment (issue 6).
# Included at the end of this folder's CMakeLists.txt. LibTorch translation units
# compile slowly, so only convnext, classifier_input, probe, probe_job and
# image_experiment include ATen; the rest is plain C++.
if(HDIFF_WITH_TORCH)
  add_library(hdiff_probe STATIC
    ${CMAKE_CURRENT_LIST_DIR}/convnext.cpp
    ${CMAKE_CURRENT_LIST_DIR}/classifier_input.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_job.cpp
    ${CMAKE_CURRENT_LIST_DIR}/image_experiment.cpp
    ${CMAKE_CURRENT_LIST_DIR}/image_experiment_config.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_stats.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_table.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_pairs.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_figures.cpp)
  target_link_libraries(hdiff_probe PUBLIC hdiff_common hdiff_checkpoint hdiff_image ${TORCH_LIBRARIES}
                                           tomlplusplus::tomlplusplus)
  target_compile_options(hdiff_probe PRIVATE ${HDIFF_WARNINGS})
endif()
