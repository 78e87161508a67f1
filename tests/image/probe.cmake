# Tests of the ConvNeXt classifier probe and the image experiment (issue 6).
if(HDIFF_WITH_TORCH)
  hdiff_add_test(test_image_probe
    ${CMAKE_CURRENT_LIST_DIR}/convnext_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_stats_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_table_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/probe_run_test.cpp
    LIBS hdiff_probe)
  # Runs build/hdiff, so the binary must be built first.
  hdiff_add_test(test_image_experiment ${CMAKE_CURRENT_LIST_DIR}/image_experiment_test.cpp LIBS hdiff_checkpoint)
  add_dependencies(test_image_experiment hdiff hdiff-images)
endif()
