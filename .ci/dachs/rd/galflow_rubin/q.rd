<!-- Rubin DP0.2 Object table (CI mirror, simulated): served by the CI DaCHS of astro_galflow (see .ci/dachs/setup_dachs.sh). -->
<resource schema="dp02_dc2_catalogs" resdir=".">
  <meta name="creationDate">2026-01-01T00:00:00Z</meta>
  <meta name="title">Rubin DP0.2 Object table (CI mirror, simulated)</meta>
  <meta name="description">Simulated rows in the schema of the Rubin DP0.2 Object table (fluxes in nJy) for offline tests.</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator">astro_galflow CI</meta>
  <meta name="contentLevel">Research</meta>
  <meta name="type">Catalog</meta>
  <meta name="coverage.waveband">Optical</meta>

  <table id="object" onDisk="True" mixin="//scs#q3cindex" adql="True">
    <meta name="description">Object table (simulated).</meta>
    <primary>objectid</primary>
    <column name="objectid" type="bigint" ucd="meta.id;meta.main" verbLevel="1"
      description="Object id."/>
    <column name="coord_ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" verbLevel="1"
      description="ICRS right ascension."/>
    <column name="coord_dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" verbLevel="1"
      description="ICRS declination."/>
    <column name="detect_isprimary" type="smallint" ucd="meta.code" verbLevel="1"
      description="1 for primary (deblended, inner-tract) objects (stored as an integer, as Qserv does)."/>
    <column name="refextendedness" type="real" verbLevel="1"
      description="1 for extended sources."/>
    <column name="ebv" type="real" unit="mag" verbLevel="1"
      description="SFD E(B-V)."/>
    <column name="u_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux u."/>
    <column name="u_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error u."/>
    <column name="g_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux g."/>
    <column name="g_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error g."/>
    <column name="r_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux r."/>
    <column name="r_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error r."/>
    <column name="i_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux i."/>
    <column name="i_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error i."/>
    <column name="z_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux z."/>
    <column name="z_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error z."/>
    <column name="y_cmodelflux" type="double precision" unit="nJy" ucd="phot.flux.density" verbLevel="1"
      description="cModel flux y."/>
    <column name="y_cmodelfluxerr" type="double precision" unit="nJy" ucd="stat.error;phot.flux.density" verbLevel="1"
      description="cModel flux error y."/>
  </table>
  <data id="import_object">
    <sources pattern="data/object.csv"/>
    <csvGrammar/>
    <make table="object">
      <rowmaker idmaps="*"/>
    </make>
  </data>
</resource>
