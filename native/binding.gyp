{
  "targets": [
    {
      "target_name": "zran",
      "sources": ["zran.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [
        ["OS=='win'", {"libraries": ["zlib.lib"]}, {"libraries": ["-lz"]}]
      ]
    }
  ]
}
