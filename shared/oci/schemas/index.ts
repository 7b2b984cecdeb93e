// Every schema Ajv needs, in dependency order (definitions first).
export { defsDescriptorSchema, DEFS_DESCRIPTOR_ID, MEDIA_TYPE_PATTERN, DIGEST_PATTERN } from './defs-descriptor.js';
export { platformSchema, PLATFORM_ID } from './platform.js';
export { contentDescriptorSchema, CONTENT_DESCRIPTOR_ID } from './content-descriptor.js';
export { imageIndexSchema, IMAGE_INDEX_ID } from './image-index.js';
export { imageManifestSchema, IMAGE_MANIFEST_ID } from './image-manifest.js';
export { configSchema, CONFIG_ID } from './config.js';
export { ociLayoutSchema, OCI_LAYOUT_ID } from './oci-layout.js';
export { dockerManifestSchema, dockerListSchema, DOCKER_MANIFEST_ID, DOCKER_LIST_ID } from './docker.js';
