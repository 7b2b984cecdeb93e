// The inspector's media type explanations come from the spec model; re-exported here because the
// renderer may import only shared/api and shared/ui.
export { explainMediaType, mediaTypeKind } from '../oci/mediatypes.js';
